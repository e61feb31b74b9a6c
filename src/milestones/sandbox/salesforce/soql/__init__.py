"""The sandbox's SOQL engine: lexer, parser and evaluator against a schema."""
