language-name = ru
