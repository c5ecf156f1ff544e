/* session: dashboard sign-in. POST /api/v1/session {"token"} exchanges the admin token for a
 * random session id in an HttpOnly, SameSite=Strict cookie; requests authenticated by the
 * cookie that change state must also carry the session's CSRF token in X-CSRF-Token (the page
 * gets it from the sign-in answer or GET /api/v1/session). Sessions live in memory (a restart
 * signs everyone out) and expire after 7 days. Loop thread only. */
#ifndef SLUICE_SESSION_H
#define SLUICE_SESSION_H
#include "http/http.h"

struct app;

/* 1 when req has a valid session cookie (and, for methods other than GET/HEAD, the matching
 * X-CSRF-Token header); 0 otherwise. */
int session_check(struct app *a, const http_request *req);

void session_handle_create(struct app *a, http_conn *c, http_request *req);
void session_handle_get(struct app *a, http_conn *c, http_request *req);
void session_handle_delete(struct app *a, http_conn *c, http_request *req);
void session_free_all(struct app *a);

#endif
