// Package smtp implements the Simple Mail Transfer Protocol (RFC 5321): a
// server for the receiver, submission and LMTP roles, and the types both
// the server and the client share (Error, EnhancedCode, MailOptions,
// RcptOptions).
package smtp
