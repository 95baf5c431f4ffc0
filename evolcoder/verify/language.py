"""Which answers hold Python code, which another language, and which no code at all.

Code Alpaca answers SQL, JavaScript, HTML, CSS, shell, Java, C and more, without fences; an
evolved instruction may ask for any language. Only Python is run, and an answer in another
language must never be judged `failed`, so the evidence is read in this order:

1. a fence tag: a ```python block makes the answer Python; blocks tagged only with other
   languages (```sql, ```js) make it not Python;
2. the code the extraction rules find (`answer_code`), when it parses as a Python program
   (when it is only a part of an unfenced answer, the other lines' marks are read first:
   `import java.util.Scanner;` parses): Python if it has Python's own marks (`def`, `import`,
   `print(`, a block colon, ...); otherwise a line with another language's marks
   (`console.log(`, `document.`, `Math.`, `db.users.find(`, `x <- c(1, 2)`: all valid Python
   syntax) or an instruction that names another language and not Python makes it not Python;
   else it is Python;
3. text that does not parse: another language's marks on a line (`SELECT ... FROM`,
   `#include`, `<html>`, `let x =`, `public static`, `#!/bin/bash`, `color: red;`, a regex)
   make it not Python; prose is no code; Python's statements make it Python (which then fails
   to compile); an instruction naming another language makes it not Python; a bare value
   (`true`, `35`, a JSON document) is no code; braces or semicolons of no known language are
   not Python; anything else (an output, a formula, a table) is no code.

Marks are checked per line, the first line that has any deciding; lines inside a Python
program's multi-line strings (SQL or HTML held in a string) are not read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from evolcoder.verify.extract import answer_code, is_program, parse

Kind = Literal["python", "not_python", "no_code"]

PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
UNTAGGED = frozenset({"", "text", "txt", "plaintext", "plain", "output"})
_TAG_ALIASES = {"js": "javascript", "jsx": "javascript", "ts": "typescript", "sh": "shell", "bash": "shell",
                "zsh": "shell", "console": "shell", "cpp": "c++", "cs": "c#", "csharp": "c#", "rb": "ruby",
                "golang": "go", "rs": "rust", "kt": "kotlin", "htm": "html", "mysql": "sql", "postgresql": "sql"}
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[ \t]*$", re.MULTILINE)

# Per language, what a line of it has and a line of Python never (or next to never) has.
# Order matters where two languages share marks: C++ before C, C# before Java, PHP before HTML.
_LINE_MARKS: tuple[tuple[str, re.Pattern], ...] = tuple((name, re.compile(pattern)) for name, pattern in (
    ("objective-c", r"^\s*@(interface|implementation|property|end)\b|^\s*#import\s*[<\"]"),
    ("c++", r"^\s*#\s*include\s*<(iostream|vector|string|algorithm|map|set|cmath)>|\bstd::|\bvector<|\bcout\s*<<|"
            r"\bcin\s*>>|^\s*using\s+namespace\b|^\s*template\s*<"),
    ("c", r"^\s*#\s*include\s*[<\"]|^\s*(int|void|char|float|double|long|unsigned|struct|typedef|bool)\b"
          r"(\s*\*+\s*|\s+)\w+((\s*\*+\s*|\s+)\w+)?\s*(\(|\[|=|;|,)|\b(printf|scanf|malloc)\s*\("),
    ("c#", r"\bConsole\.Write(Line)?\s*\(|^\s*using\s+System\b|^\s*namespace\s+[\w.]+"),
    ("java", r"\bSystem\.out\.print|^\s*import\s+java\.|^\s*(public|private|protected)\s+"
             r"(static\s+|final\s+|abstract\s+)*(class|interface|enum|void|int|String|boolean|double|[A-Z]\w*)\b"),
    ("javascript", r"\bconsole\.(log|error|warn|info)\s*\(|\b(document|window|localStorage)\.\w|"
                   r"^\s*(let|const|var)\s+[\w$\[{]|\bfunction\s*\w*\s*\([^)]*\)\s*\{|=>|===|!==|\balert\s*\(|"
                   r"\bMath\.\w|\bJSON\.(stringify|parse)\b|\$\(\s*[\"'#.\w]|^\s*module\.exports\b|"
                   r"\brequire\s*\(\s*[\"']|^\s*export\s+(default\s+)?(function|class|const)\b|"
                   r"^\s*import\s+.+\s+from\s+[\"']|\bthis\.\w+\s*=[^=]"),
    ("php", r"<\?php|^\s*\$\w+\s*(=[^=]|->|\[)|^\s*echo\s+[\"'$]"),
    ("html", r"^\s*<(!DOCTYPE|\?xml|/?[A-Za-z][\w:-]*)(\s[^>]*)?/?>"),
    ("sql", r"(?i)^\s*(SELECT\s+[\w*(]|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|UPDATE\s+\w+\s*$|DELETE\s+FROM\b|"
            r"CREATE\s+(TABLE|DATABASE|INDEX|VIEW|PROCEDURE|FUNCTION|TRIGGER|UNIQUE)\b|ALTER\s+TABLE\b|"
            r"DROP\s+(TABLE|DATABASE)\b|WITH\s+\w+\s+AS\s*\()"),
    ("shell", r"^#!\s*/(usr/)?bin/(env\s+)?(ba|z|k)?sh\b|^\s*\$ \w|^\s*(sudo|apt(-get)?|yum|brew|chmod|chown|"
              r"mkdir|cd|ls|grep|curl|wget|export|npm|npx|yarn|pip3?|git|docker|systemctl|touch|mv|cp|rm|"
              r"tar|echo)\s+[-\w./~\"'$]"),
    ("css", r"^\s*[a-z-]+\s*:\s*[^;{}=()\"']+;\s*$|^\s*(?!(class|if|for|while|switch|struct|enum|interface|"
            r"else|do|try)\b)[.#]?[A-Za-z][\w\s.#:>+~,-]*\{\s*$"),
    ("ruby", r"^\s*puts\s|\.each\s+do\s*\||^\s*end\s*$"),
    ("r", r"^\s*[\w.]+\s*<-\s*\S|\blibrary\(\w+\)"),
    ("swift", r"^\s*func\s+\w+\s*\(.*\)\s*->|^\s*(var|let)\s+\w+\s*:\s*[A-Z]"),
    ("go", r"^\s*package\s+\w+\s*$|^\s*func\s+|\bfmt\.\w+\(|^\s*\w+(\s*,\s*\w+)*\s*:="),
    ("rust", r"^\s*fn\s+\w+|\blet\s+mut\b|\bprintln!\(|\bvec!\["),
    ("kotlin", r"^\s*fun\s+\w+\s*\("),
    ("mongodb", r"\bdb\.\w+\.\w+\s*\("),
    ("perl", r"^\s*my\s+[$@%]\w+|^\s*use\s+strict\b"),
    ("haskell", r"^\s*\w+\s*::\s*\w"),
    ("vba", r"^\s*(Dim\s+\w+\s+As\b|(Private\s+|Public\s+)?Sub\s+\w+\s*\(|End\s+Sub\b)"),
    ("latex", r"^\s*\\(begin|end|documentclass|section|usepackage|hline)\b"),
    ("regex", r"^\s*/?\^.*\$/?[gimsuy]*\s*$|^\s*/[^/\s].*/[gimsuy]*\s*$|"
              r"^\s*\^?[^\s=\"'(]*(\\[dwsbDWSB]|\[[^\]\s]+\][*+?{]|\.[*+])[^\s=\"']*\$?\s*$"),
))
# Marks that are valid Python syntax no Python program writes: they beat Python's own marks
# (`x <- c(1, 2)` then `print(x)` is R).
_VALID_PYTHON_MARKS = tuple((name, pattern) for name, pattern in _LINE_MARKS if name == "r")
# Python's own marks. In a text that parses as a program, any of these settles it; in one that
# does not, only whole statements count (a prose line may end with a colon or say "None").
_PYTHON_MARKS = re.compile(
    r"^\s*(def\s+\w+\s*\(|class\s+\w+\s*[:(]|import\s+\w|from\s+[\w.]+\s+import\b|elif\b|async\s+def\b|@\w)|"
    r"\bprint\s*\(|\bself\.|\b(True|False|None)\b|\b(len|range)\s*\(|:\s*(#.*)?$",
    re.MULTILINE,
)
_PYTHON_STATEMENTS = re.compile(
    r"^\s*(def\s+\w+\s*\(|class\s+\w+\s*(\(.*\))?\s*:|import\s+[\w.]+(\s+as\s+\w+)?\s*$|from\s+[\w.]+\s+import\s|"
    r"elif\s.*:|for\s+[\w, ()]+\s+in\s.+:|while\s.+:|if\s.+:|else\s*:|try\s*:|except\b.*:|with\s.+:|"
    r"print\s*\(|print\s+[\"'\w])|\bself\.\w",
    re.MULTILINE,
)
# Languages an instruction may ask for. Python (or a Python library) named anywhere wins.
_PYTHON_NAMED = re.compile(r"\b(Python|python|Django|Flask|pandas|NumPy|numpy|PyTorch|TensorFlow|sklearn)\b")
_NAMED: tuple[tuple[str, re.Pattern], ...] = tuple((name, re.compile(pattern)) for name, pattern in (
    ("sql", r"\b(SQL|MySQL|PostgreSQL|SQLite|T-SQL|PL/SQL|Oracle)\b"),
    ("javascript", r"\b(JavaScript|Javascript|JS|Node\.js|NodeJS|jQuery|React(JS)?|Angular(JS)?|Vue(\.js)?)\b"),
    ("typescript", r"\bTypeScript\b"),
    ("java", r"\bJava\b(?!Script)"),
    ("c++", r"\bC\+\+|\bcpp\b"),
    ("c#", r"\bC#|\.NET\b"),
    ("c", r"\b(in|using|into|to) C\b(?![+#\w])|\bC (program|code|function|language|snippet|structure|struct|"
          r"library|compiler|header|file)\b|\bANSI C\b"),
    ("html", r"\b(HTML|XHTML|HTML5)\b"),
    ("css", r"\b(CSS|SCSS|Sass)\b"),
    ("xml", r"\bXML\b"),
    ("json", r"\bJSON\b"),
    ("php", r"\bPHP\b"),
    ("ruby", r"\b(Ruby|Rails)\b"),
    ("shell", r"\b(Bash|bash|[Ss]hell|PowerShell|Unix|Linux command|command line|terminal command)\b"),
    ("r", r"\bin R\b|\bR (script|code|function|program|language)\b"),
    ("go", r"\bGolang\b|\bin Go\b|\bGo (program|code|function|language)\b"),
    ("rust", r"\bRust\b"),
    ("swift", r"\bSwift\b"),
    ("kotlin", r"\bKotlin\b"),
    ("perl", r"\bPerl\b"),
    ("haskell", r"\bHaskell\b"),
    ("scala", r"\bScala\b"),
    ("matlab", r"\b(MATLAB|Matlab|Octave)\b"),
    ("objective-c", r"\bObjective-C\b"),
    ("mongodb", r"\b(MongoDB|Mongo)\b"),
    ("latex", r"\bLaTeX\b"),
))
_PROSE_CHARS = re.compile(r"[A-Za-z0-9\s.,;:!?'\"()-]")
# What code of an unknown language has and a value, a table or a formula ("x = 6 and y = 3") not.
_CODE_SIGNS = re.compile(r"[{};]\s*$|^\s*(//|/\*)|[{}]", re.MULTILINE)


@dataclass(frozen=True)
class Classified:
    """What an answer holds: `kind`, the Python `code` (kind python), the `language` found
    (kind not_python: "sql", "javascript", ..., or "unknown"), and the `evidence` that decided."""

    kind: Kind
    evidence: str
    code: str = ""
    language: str = ""


def classify(instruction: str, answer: str) -> Classified:
    """Python, not Python or no code: see the module docstring for the order of evidence."""
    text = answer.replace("\r", "").strip()
    if not text:
        return Classified("no_code", "the answer is empty")
    tags = _fence_tags(text)
    if PYTHON_TAGS & set(tags):
        return Classified("python", "a ```python block", code=answer_code(text))
    if tags and not UNTAGGED & set(tags):
        return _foreign(_TAG_ALIASES.get(tags[0], tags[0]), f"fenced as ```{tags[0]}")
    code = answer_code(text)
    tree = parse(code) if code else None
    if not is_program(tree):
        return _unparsed(instruction, text, code)
    if not tags and code != text:  # a part of the text: `import java.util.Scanner;` parses
        found = _marked_language(enumerate(text.split("\n"), 1))
        if found:
            return found
    return _parsed_program(instruction, code, tree)


def _parsed_program(instruction: str, code: str, tree: ast.Module) -> Classified:
    if "<-" in code and (found := _marked_language(_lines_outside_strings(code, tree), _VALID_PYTHON_MARKS)):
        return found
    if _PYTHON_MARKS.search(code):
        return Classified("python", "a Python program", code=code)
    found = _marked_language(_lines_outside_strings(code, tree))
    if found:
        return found
    named = named_language(instruction)
    if named:
        return _foreign(named[0], f"valid Python syntax, but the instruction names {named[1]}")
    return Classified("python", "a Python program", code=code)


def _unparsed(instruction: str, text: str, code: str) -> Classified:
    found = _marked_language(enumerate(text.split("\n"), 1))
    if found:
        return found
    if is_prose(text):
        return Classified("no_code", "prose")
    if _PYTHON_STATEMENTS.search(code or text):
        return Classified("python", "Python that does not parse", code=code or text)
    named = named_language(instruction)
    if named:
        return _foreign(named[0], f"the instruction names {named[1]}")
    if parse(text) is not None:
        return Classified("no_code", "a value, not a program")
    if _CODE_SIGNS.search(text):
        return _foreign("unknown", "code that is not Python, in no language recognised")
    return Classified("no_code", "not code: prose, a value, a table or a formula")


def named_language(instruction: str) -> tuple[str, str] | None:
    """(language, the words that name it) when the instruction asks for a language other
    than Python and does not name Python; else None."""
    if _PYTHON_NAMED.search(instruction):
        return None
    for name, pattern in _NAMED:
        match = pattern.search(instruction)
        if match:
            return name, match.group(0)
    return None


def is_prose(text: str) -> bool:
    """Sentences, not code: three words or more, and next to nothing but letters, digits and
    sentence punctuation ("Y is greater than X", "The output is 5.")."""
    plain = sum(1 for _ in _PROSE_CHARS.finditer(text))
    return len(re.findall(r"[A-Za-z]{2,}", text)) >= 3 and plain >= 0.97 * len(text)


def _marked_language(lines: Iterable[tuple[int, str]],
                     marks: tuple[tuple[str, re.Pattern], ...] = _LINE_MARKS) -> Classified | None:
    """The first numbered line with another language's marks decides."""
    for n, line in lines:
        for name, pattern in marks:
            if pattern.search(line):
                return _foreign(name, f"line {n} reads as {name}: {line.strip()[:80]}")
    return None


def _lines_outside_strings(code: str, tree: ast.Module) -> list[tuple[int, str]]:
    """The numbered lines of a parsed program, less those inside its multi-line strings."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno and node.end_lineno > node.lineno:
            if isinstance(node, ast.JoinedStr) or isinstance(node.value, str):
                inside.update(range(node.lineno + 1, node.end_lineno + 1))
    return [(n, line) for n, line in enumerate(code.split("\n"), 1) if n not in inside]


def _fence_tags(text: str) -> list[str]:
    """The language tag of each opening fence, lower case ('' for a bare one)."""
    return [m.group(1).lower() for m in list(_FENCE.finditer(text))[::2]]


def _foreign(language: str, evidence: str) -> Classified:
    return Classified("not_python", evidence, language=language)
