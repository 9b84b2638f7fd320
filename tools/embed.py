#!/usr/bin/env python3
"""Embed a text file in C: embed.py INPUT OUTPUT FUNCTION -> const char *FUNCTION(void)."""
import sys

src, dst, func = sys.argv[1:4]
data = open(src, 'rb').read()
if b'\0' in data:
    sys.exit(f'{src}: contains a NUL byte')
body = ',\n'.join(', '.join(str(b) for b in data[i:i + 16]) for i in range(0, len(data), 16))
with open(dst, 'w') as out:
    out.write(f'/* Generated from {src} by tools/embed.py; do not edit. */\n')
    out.write(f'static const char text[] = {{\n{body},\n0 }};\n')
    out.write(f'const char *{func}(void);\nconst char *{func}(void)\n{{\n\treturn text;\n}}\n')
