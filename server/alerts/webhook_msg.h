/* webhook_msg: what a webhook receives. Builds Slack Block Kit messages (within Slack's limits)
 * and Standard Webhooks payloads from an outbox row's event and data, signs them, and checks
 * webhook URLs and secrets. Pure functions; any thread; no I/O. */
#ifndef SLUICE_WEBHOOK_MSG_H
#define SLUICE_WEBHOOK_MSG_H
#include <stddef.h>

/* 0 when url is a well-formed http(s) URL with a host; else -1 and a reason in why. When
 * host is not NULL it receives the URL's host as a resolver takes it (an IPv6 literal without
 * its brackets); a host that does not fit host_cap is an error. */
int webhook_msg_url_check(const char *url, char *host, size_t host_cap, char *why, size_t cap);
/* 0 when secret is "whsec_" + base64 of 24..64 bytes. */
int webhook_msg_secret_check(const char *secret);
/* Standard Webhooks signature "v1,<base64>" of "{id}.{ts}.{body}" into out. 0 or -1. */
int webhook_msg_sign(const char *secret, const char *msg_id, long long ts, const char *body,
                     size_t len, char *out, size_t cap);
/* Message bodies (malloc'd JSON, NUL-terminated) for an outbox row's event and data.
 * NULL when out of memory or data is not JSON. */
char *webhook_msg_slack(const char *event, const char *data, const char *public_url);
char *webhook_msg_generic(const char *event, const char *msg_id, const char *data,
                          const char *public_url);

#endif
