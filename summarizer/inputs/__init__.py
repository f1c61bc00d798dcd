"""Where article text comes from: files and standard input (``files``) and web pages (``url``).

Owns decoding, input hygiene (binary, HTML, encodings) and page fetching and extraction. May import
``schema`` and ``errors``; the pipeline calls ``files.check_article`` on every text it is given.
"""
