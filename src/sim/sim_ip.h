/*
 * sim_ip: IP address literals and allow-lists (--ip-allow, a dealer's
 * "ip_allow"). Addresses are kept as 16 bytes in IPv6 form, IPv4 ones
 * mapped (::ffff:a.b.c.d), so an IPv4 client of a dual-stack socket
 * matches the IPv4 literal it was allowed as.
 */
#ifndef SIM_IP_H
#define SIM_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "sim_buf.h"

struct sim_ip {
        unsigned char a[16];
};

/* An allow-list; a dealer without one (NULL) accepts every address. */
struct sim_ip_list {
        size_t n;
        struct sim_ip *ips;             /* owned */
};

/* Parses an IPv4 or IPv6 literal (no zone, no prefix length). */
bool sim_ip_parse(const char *s, struct sim_ip *out);

/* The address of a peer; false for families other than IPv4 / IPv6. */
bool sim_ip_from_sockaddr(const struct sockaddr *sa, struct sim_ip *out);

/* Appends ip as a JSON string in its canonical text form. */
void sim_ip_render(struct sim_buf *b, const struct sim_ip *ip);

/* An empty list (allows nothing); NULL on allocation failure. */
struct sim_ip_list *sim_ip_list_create(void);

/* Accepts NULL. */
void sim_ip_list_destroy(struct sim_ip_list *l);

/* A deep copy; NULL in, NULL out (and NULL on allocation failure). */
struct sim_ip_list *sim_ip_list_copy(const struct sim_ip_list *l);

/* Appends one address; -1 on allocation failure. */
int sim_ip_list_add(struct sim_ip_list *l, const struct sim_ip *ip);

/*
 * Appends the addresses of "ADDR[,ADDR...]". On error returns -1 and err
 * names the offending element; l may then hold the elements before it.
 */
int sim_ip_list_add_csv(struct sim_ip_list *l, const char *csv, char *err,
                        size_t errlen);

/* Whether ip is on the list; a NULL list allows everything. */
bool sim_ip_list_allows(const struct sim_ip_list *l, const struct sim_ip *ip);

/* Appends the list as a JSON array, or null for a NULL list. */
void sim_ip_list_render(struct sim_buf *b, const struct sim_ip_list *l);

#endif
