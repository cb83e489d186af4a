language-name = en
