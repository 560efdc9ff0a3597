/*
 * api.h — maillog.cgi as a library call: one CGI request in, one response
 * out (docs/API.md is the contract). main() only copies the environment into
 * a struct cgi_env and calls api_run(); tests call it the same way.
 *
 * Order of work, so that nothing acts on unchecked input: read and bound the
 * request (request.h); match the route and method; load the configuration;
 * establish the identity; check the anti-CSRF token of a standalone PUT/POST;
 * then the route parses its parameters and body into typed values, rejects
 * leftovers, and only then opens the database, applies the admin's
 * visibility rules and acts. Scope is passed to every query from the
 * identity, never from the request.
 */
#ifndef MAILLOG_API_API_H
#define MAILLOG_API_API_H

#include "api/request.h"

#include <stdio.h>

/* Answers the request described by env (body on in) on out; faults are
 * logged on log. Returns the HTTP status sent. */
int api_run(const struct cgi_env *env, FILE *in, FILE *out, FILE *log);

#endif
