module github.com/acme/ledger-worker/app

go 1.25
