language-name = hi
