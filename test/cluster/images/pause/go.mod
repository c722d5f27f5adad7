module memaudit.local/pause

go 1.24
