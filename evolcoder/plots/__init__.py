"""Commands on the plot files the stages write: `evolcoder plots-template` (`cli`)."""
