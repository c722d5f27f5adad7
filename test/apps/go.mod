module memaudit.local/apps

go 1.24
