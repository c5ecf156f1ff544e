/* test_http_client: the SSRF address guard http_client_addr_allowed. Every refused IPv4 range
 * is probed at its first and last address and at the public neighbours just outside it; IPv6
 * covers loopback, unspecified, unique-local, link-local, multicast, documentation, Teredo,
 * and the forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4), which must be
 * judged by that address. No sockets are opened. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "http/http_client.h"
#include "testutil.h"

typedef struct addr_case {
  const char *addr;
  int allowed; /* expected answer of the guard */
} addr_case;

/* Asks the guard about a textual IPv4 address (port 443, as a webhook would use). */
static int v4(const char *text) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(443);
  if (inet_pton(AF_INET, text, &sin.sin_addr) != 1) {
    fprintf(stderr, "  bad test address %s\n", text);
    return -1;
  }
  return http_client_addr_allowed((const struct sockaddr *)&sin);
}

static int v6(const char *text) {
  struct sockaddr_in6 sin6;
  memset(&sin6, 0, sizeof sin6);
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(443);
  if (inet_pton(AF_INET6, text, &sin6.sin6_addr) != 1) {
    fprintf(stderr, "  bad test address %s\n", text);
    return -1;
  }
  return http_client_addr_allowed((const struct sockaddr *)&sin6);
}

/* Runs a table through the guard and names every address that got the wrong answer. */
static void check_table(int (*ask)(const char *), const addr_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int got = ask(cases[i].addr);
    if (got != cases[i].allowed)
      fprintf(stderr, "  %s: guard said %d, expected %d\n", cases[i].addr, got, cases[i].allowed);
    CHECK_EQ_INT(got, cases[i].allowed);
  }
}

#define CHECK_TABLE(ask, cases) check_table(ask, cases, sizeof(cases) / sizeof(cases[0]))

TEST(v4_public_addresses_allowed) {
  static const addr_case cases[] = {
      {"8.8.8.8", 1},         {"1.1.1.1", 1},      {"1.0.0.0", 1},      {"9.9.9.9", 1},
      {"93.184.216.34", 1},   {"140.82.112.3", 1}, {"151.101.1.69", 1}, {"185.199.108.153", 1},
      {"223.255.255.255", 1}, /* last address below multicast */
  };
  CHECK_TABLE(v4, cases);
}

TEST(v4_this_network_and_loopback) {
  static const addr_case cases[] = {
      {"0.0.0.0", 0},   {"0.0.0.1", 0},         {"0.255.255.255", 0},
      {"127.0.0.1", 0}, {"127.0.0.0", 0},       {"127.255.255.255", 0},
      {"127.1.2.3", 0}, {"126.255.255.255", 1}, {"128.0.0.0", 1},
  };
  CHECK_TABLE(v4, cases);
}

TEST(v4_private_10_8) {
  static const addr_case cases[] = {
      {"9.255.255.255", 1},  {"10.0.0.0", 0}, {"10.0.0.1", 0},
      {"10.255.255.255", 0}, {"11.0.0.0", 1},
  };
  CHECK_TABLE(v4, cases);
}

TEST(v4_private_172_16_12_edges) {
  static const addr_case cases[] = {
      {"172.15.255.255", 1}, {"172.16.0.0", 0}, {"172.16.0.1", 0}, {"172.20.10.1", 0},
      {"172.31.255.255", 0}, {"172.32.0.0", 1}, {"172.0.0.1", 1},  {"172.217.16.14", 1},
  };
  CHECK_TABLE(v4, cases);
}

TEST(v4_private_192_168_16) {
  static const addr_case cases[] = {
      {"192.167.255.255", 1}, {"192.168.0.0", 0}, {"192.168.1.1", 0},
      {"192.168.255.255", 0}, {"192.169.0.0", 1},
  };
  CHECK_TABLE(v4, cases);
}

TEST(v4_link_local_and_cloud_metadata) {
  static const addr_case cases[] = {
      {"169.253.255.255", 1}, {"169.254.0.0", 0}, {"169.254.169.254", 0},
      {"169.254.255.255", 0}, {"169.255.0.0", 1},
  };
  CHECK_TABLE(v4, cases);
}

TEST(v4_shared_cgnat_100_64_10) {
  static const addr_case cases[] = {
      {"100.63.255.255", 1},  {"100.64.0.0", 0},  {"100.100.100.200", 0},
      {"100.127.255.255", 0}, {"100.128.0.0", 1},
  };
  CHECK_TABLE(v4, cases);
}

TEST(v4_special_purpose_blocks) {
  static const addr_case cases[] = {
      {"192.0.0.1", 0},      {"192.0.0.255", 0},   {"192.0.1.0", 1},      /* IETF assignments */
      {"192.0.2.1", 0},      {"192.0.3.0", 1},                            /* TEST-NET-1 */
      {"198.51.100.7", 0},   {"198.51.101.0", 1},                         /* TEST-NET-2 */
      {"203.0.113.9", 0},    {"203.0.114.0", 1},                          /* TEST-NET-3 */
      {"192.88.99.1", 0},    {"192.88.98.255", 1},                        /* 6to4 relay */
      {"198.17.255.255", 1}, {"198.18.0.0", 0},    {"198.19.255.255", 0}, /* benchmarking /15 */
      {"198.20.0.0", 1},
  };
  CHECK_TABLE(v4, cases);
}

TEST(v4_multicast_reserved_broadcast) {
  static const addr_case cases[] = {
      {"224.0.0.0", 0}, {"224.0.0.251", 0},     {"239.255.255.255", 0}, {"240.0.0.0", 0},
      {"250.1.2.3", 0}, {"255.255.255.254", 0}, {"255.255.255.255", 0},
  };
  CHECK_TABLE(v4, cases);
}

TEST(v6_public_addresses_allowed) {
  static const addr_case cases[] = {
      {"2001:4860:4860::8888", 1},
      {"2606:4700:4700::1111", 1},
      {"2a00:1450:4001:82a::200e", 1},
      {"2620:fe::fe", 1},
      {"3ffe:ffff::1", 1},
      /* the first allocation past 2001::/23 */
      {"2001:200::1", 1},
  };
  CHECK_TABLE(v6, cases);
}

TEST(v6_loopback_unspecified_local) {
  static const addr_case cases[] = {
      {"::1", 0},
      {"::", 0},
      {"fc00::1", 0},
      {"fd12:3456:789a::1", 0},
      {"fdff:ffff::1", 0},
      {"fe80::1", 0},
      {"fe80::1ff:fe23:4567:890a", 0},
      {"febf:ffff::1", 0},
      {"fec0::1", 0}, /* deprecated site-local */
      {"ff02::1", 0},
      {"ff0e::101", 0},
      {"ff05::1:3", 0},
      {"100::1", 0}, /* discard-only */
      {"4000::1", 0},
      {"1fff:ffff::1", 0},
      {"e000::1", 0},
  };
  CHECK_TABLE(v6, cases);
}

TEST(v6_documentation_and_teredo) {
  static const addr_case cases[] = {
      /* 2001:db8::/32 documentation */
      {"2001:db8::1", 0},
      {"2001:db8:ffff:ffff::1", 0},
      {"2001:db9::1", 1},
      /* 2001::/23 IETF protocol assignments: Teredo 2001::/32, ORCHID 2001:10::/28, .. */
      {"2001::1", 0},
      {"2001:0:4136:e378::1", 0},
      {"2001:10::1", 0},
      {"2001:1ff:ffff::1", 0},
      /* 3fff::/20 documentation (RFC 9637) */
      {"3fff::1", 0},
      {"3fff:fff:ffff::1", 0},
      {"3fff:1000::1", 1},
      {"3ffe:ffff:ffff::1", 1},
  };
  CHECK_TABLE(v6, cases);
}

/* An IPv6 address that carries an IPv4 address must get the IPv4 address's answer, or any
 * private target is one "::ffff:" away. */
TEST(v6_carrying_ipv4_judged_by_it) {
  static const addr_case cases[] = {
      /* IPv4-mapped ::ffff:0:0/96 */
      {"::ffff:127.0.0.1", 0},
      {"::ffff:10.0.0.1", 0},
      {"::ffff:172.16.0.1", 0},
      {"::ffff:192.168.1.1", 0},
      {"::ffff:169.254.169.254", 0},
      {"::ffff:100.64.0.1", 0},
      {"::ffff:0.0.0.0", 0},
      {"::ffff:224.0.0.1", 0},
      {"::ffff:255.255.255.255", 0},
      {"::ffff:8.8.8.8", 1},
      {"::ffff:1.1.1.1", 1},
      {"::ffff:7f00:1", 0}, /* the same mapped loopback written in hex */
      /* IPv4-compatible (deprecated) */
      {"::127.0.0.1", 0},
      {"::8.8.8.8", 0},
      /* NAT64 well-known prefix 64:ff9b::/96 */
      {"64:ff9b::127.0.0.1", 0},
      {"64:ff9b::10.1.2.3", 0},
      {"64:ff9b::169.254.169.254", 0},
      {"64:ff9b::8.8.8.8", 1},
      /* 6to4 2002::/16 carries the IPv4 address in bits 16..47 */
      {"2002:7f00:1::1", 0},
      {"2002:a00:1::1", 0},
      {"2002:c0a8:101::1", 0},
      {"2002:a9fe:a9fe::1", 0},
      {"2002:808:808::1", 1},
  };
  CHECK_TABLE(v6, cases);
}

TEST(port_and_family) {
  /* The port plays no part. */
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  CHECK_EQ_INT(inet_pton(AF_INET, "8.8.8.8", &sin.sin_addr), 1);
  for (int port = 0; port <= 65535; port += 4369) {
    sin.sin_port = htons((uint16_t)port);
    CHECK_EQ_INT(http_client_addr_allowed((const struct sockaddr *)&sin), 1);
  }
  CHECK_EQ_INT(inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1);
  sin.sin_port = htons(80);
  CHECK_EQ_INT(http_client_addr_allowed((const struct sockaddr *)&sin), 0);

  /* Anything that is not IPv4 or IPv6 is refused. */
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof sun.sun_path, "/tmp/x.sock");
  CHECK_EQ_INT(http_client_addr_allowed((const struct sockaddr *)&sun), 0);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_family = AF_UNSPEC;
  CHECK_EQ_INT(http_client_addr_allowed((const struct sockaddr *)&ss), 0);
}

int main(void) {
  RUN(v4_public_addresses_allowed);
  RUN(v4_this_network_and_loopback);
  RUN(v4_private_10_8);
  RUN(v4_private_172_16_12_edges);
  RUN(v4_private_192_168_16);
  RUN(v4_link_local_and_cloud_metadata);
  RUN(v4_shared_cgnat_100_64_10);
  RUN(v4_special_purpose_blocks);
  RUN(v4_multicast_reserved_broadcast);
  RUN(v6_public_addresses_allowed);
  RUN(v6_loopback_unspecified_local);
  RUN(v6_documentation_and_teredo);
  RUN(v6_carrying_ipv4_judged_by_it);
  RUN(port_and_family);
  TEST_EXIT();
}
