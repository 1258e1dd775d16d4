package smtp_test

import "encoding/base64"

func hB64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
