language-name = bn
