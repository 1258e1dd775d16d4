module github.com/posthorn/posthorn

go 1.25
