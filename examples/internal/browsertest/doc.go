// Package browsertest is test support for the mobile apps' single sign-on:
// what zulip-flutter checks in the zulip://login redirect that ends a web
// login, as a pure function ([CheckMobileRedirect]), and the one-time pad
// the app sends as mobile_flow_otp ([NewOTP]).
package browsertest
