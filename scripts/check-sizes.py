#!/usr/bin/env python3
"""The size rules as a check (run by `make lint`): no file in Sources/ over 400
lines, no function, initializer, subscript or computed property body over 80
lines, counted from the line of its `func`/`init`/`var` to its closing brace.

A small scanner, not a parser: it blanks out comments and string literals
(plain, raw `#"…"#`, multi-line `\"\"\"`, with their interpolations), then
matches braces in what is left."""
import pathlib, re, sys

FILE_LIMIT = 400
FUNCTION_LIMIT = 80
root = pathlib.Path(__file__).resolve().parent.parent


def blank(text):
    """The text with every comment and string literal replaced by spaces
    (newlines kept), so braces and keywords left are code."""
    out = list(text)
    n = len(text)

    def wipe(start, end):
        for k in range(start, min(end, n)):
            if out[k] != "\n":
                out[k] = " "

    def skip_code(i, closer):
        """From i in code, to just past `closer` (a ')' ending an
        interpolation) or to the end of the text when closer is None."""
        depth = 0
        while i < n:
            c = text[i]
            if text.startswith("//", i):
                end = text.find("\n", i)
                end = n if end < 0 else end
                wipe(i, end)
                i = end
            elif text.startswith("/*", i):
                start, level, i = i, 1, i + 2
                while i < n and level:
                    if text.startswith("/*", i):
                        level, i = level + 1, i + 2
                    elif text.startswith("*/", i):
                        level, i = level - 1, i + 2
                    else:
                        i += 1
                wipe(start, i)
            elif c == '"' or (c == "#" and re.match(r'#+"', text[i:])):
                i = skip_string(i)
            elif closer and c == "(":
                depth += 1
                i += 1
            elif closer and c == ")":
                if depth == 0:
                    return i + 1
                depth -= 1
                i += 1
            else:
                i += 1
        return i

    def skip_string(i):
        start = i
        hashes = 0
        while text[i] == "#":
            hashes, i = hashes + 1, i + 1
        multi = text.startswith('"""', i)
        i += 3 if multi else 1
        quote = ('"""' if multi else '"') + "#" * hashes
        escape = "\\" + "#" * hashes
        while i < n:
            if text.startswith(escape, i):
                i += len(escape)
                if i < n and text[i] == "(":
                    i = skip_code(i + 1, ")")
                else:
                    i += 1
            elif text.startswith(quote, i):
                i += len(quote)
                break
            elif text[i] == "\n" and not multi:
                break
            else:
                i += 1
        wipe(start, i)
        return i

    skip_code(0, None)
    return "".join(out)


DECLARATION = re.compile(
    r"(?<![\w.])(?:(func)\s+([^\s(<]+)|(init)[?!]?(?=\s*[(<])|(subscript)(?=\s*[(<])|(deinit)\b|(var)\s+(\w+)\s*:)")
CONTINUES = re.compile(r"\s*(\{|->|throws|rethrows|async|where|&|,|\.)")


def body_start(code, i, is_var):
    """The offset of the `{` that opens the body of the declaration whose
    signature starts at i, or None when it has none (a requirement, a stored
    property)."""
    depth = 0
    n = len(code)
    while i < n:
        c = code[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0:
            if c == "{":
                return i
            if c == "}" or c == ";" or (is_var and c == "="):
                return None
            if c == "\n" and not CONTINUES.match(code, i + 1):
                return None
        i += 1
    return None


def body_end(code, i):
    """The offset of the `}` that closes the `{` at i."""
    depth = 0
    for k in range(i, len(code)):
        if code[k] == "{":
            depth += 1
        elif code[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return None


def check(path):
    text = path.read_text()
    name = path.relative_to(root)
    problems = []
    lines = len(text.splitlines())
    if lines > FILE_LIMIT:
        problems.append(f"{name}:1: error: file is {lines} lines (limit {FILE_LIMIT})")
    code = blank(text)
    for match in DECLARATION.finditer(code):
        kind = next(g for g in (match.group(1), match.group(3), match.group(4), match.group(5), match.group(6)) if g)
        label = match.group(2) or match.group(7) or kind
        start = body_start(code, match.end(), kind == "var")
        if start is None:
            continue
        end = body_end(code, start)
        if end is None:
            continue
        first = code.count("\n", 0, match.start()) + 1
        last = code.count("\n", 0, end) + 1
        size = last - first + 1
        if size > FUNCTION_LIMIT:
            what = "property" if kind == "var" else "function"
            problems.append(f"{name}:{first}: error: {what} {label} is {size} lines (limit {FUNCTION_LIMIT})")
    return problems


problems = []
for path in sorted((root / "Sources").rglob("*.swift")):
    problems += check(path)
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
