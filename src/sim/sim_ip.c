/*
 * sim_ip: address literals and allow-lists, see sim_ip.h.
 */
#include "sim_ip.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char v4_mapped_prefix[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static void ip_from_v4(const void *v4, struct sim_ip *out)
{
        memcpy(out->a, v4_mapped_prefix, sizeof(v4_mapped_prefix));
        memcpy(out->a + 12, v4, 4);
}

bool sim_ip_parse(const char *s, struct sim_ip *out)
{
        unsigned char v4[4];

        if (inet_pton(AF_INET, s, v4) == 1) {
                ip_from_v4(v4, out);
                return true;
        }
        return inet_pton(AF_INET6, s, out->a) == 1;
}

bool sim_ip_from_sockaddr(const struct sockaddr *sa, struct sim_ip *out)
{
        if (!sa)
                return false;
        if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const void *)sa;

                ip_from_v4(&in->sin_addr, out);
                return true;
        }
        if (sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const void *)sa;

                memcpy(out->a, &in6->sin6_addr, 16);
                return true;
        }
        return false;
}

void sim_ip_render(struct sim_buf *b, const struct sim_ip *ip)
{
        char text[INET6_ADDRSTRLEN];
        bool v4 = memcmp(ip->a, v4_mapped_prefix,
                         sizeof(v4_mapped_prefix)) == 0;

        if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? ip->a + 12 : ip->a,
                       text, sizeof(text)))
                snprintf(text, sizeof(text), "?");
        sim_buf_json_str(b, text);
}

struct sim_ip_list *sim_ip_list_create(void)
{
        return calloc(1, sizeof(struct sim_ip_list));
}

void sim_ip_list_destroy(struct sim_ip_list *l)
{
        if (!l)
                return;
        free(l->ips);
        free(l);
}

struct sim_ip_list *sim_ip_list_copy(const struct sim_ip_list *l)
{
        struct sim_ip_list *c;

        if (!l)
                return NULL;
        c = sim_ip_list_create();
        if (!c)
                return NULL;
        if (l->n) {
                c->ips = malloc(l->n * sizeof(*c->ips));
                if (!c->ips) {
                        free(c);
                        return NULL;
                }
                memcpy(c->ips, l->ips, l->n * sizeof(*c->ips));
                c->n = l->n;
        }
        return c;
}

int sim_ip_list_add(struct sim_ip_list *l, const struct sim_ip *ip)
{
        struct sim_ip *grown = realloc(l->ips, (l->n + 1) * sizeof(*grown));

        if (!grown)
                return -1;
        l->ips = grown;
        l->ips[l->n++] = *ip;
        return 0;
}

int sim_ip_list_add_csv(struct sim_ip_list *l, const char *csv, char *err,
                        size_t errlen)
{
        const char *p = csv;

        for (;;) {
                const char *end = strchr(p, ',');
                size_t n = end ? (size_t)(end - p) : strlen(p);
                char one[INET6_ADDRSTRLEN + 1];
                struct sim_ip ip;

                if (n == 0 || n >= sizeof(one)) {
                        snprintf(err, errlen, "\"%.*s\" is not an IPv4 or "
                                 "IPv6 address", (int)(n < 64 ? n : 64), p);
                        return -1;
                }
                memcpy(one, p, n);
                one[n] = '\0';
                if (!sim_ip_parse(one, &ip)) {
                        snprintf(err, errlen, "\"%s\" is not an IPv4 or "
                                 "IPv6 address", one);
                        return -1;
                }
                if (sim_ip_list_add(l, &ip) != 0) {
                        snprintf(err, errlen, "out of memory");
                        return -1;
                }
                if (!end)
                        return 0;
                p = end + 1;
        }
}

bool sim_ip_list_allows(const struct sim_ip_list *l, const struct sim_ip *ip)
{
        size_t i;

        if (!l)
                return true;
        for (i = 0; ip && i < l->n; i++)
                if (memcmp(l->ips[i].a, ip->a, sizeof(ip->a)) == 0)
                        return true;
        return false;
}

void sim_ip_list_render(struct sim_buf *b, const struct sim_ip_list *l)
{
        size_t i;

        if (!l) {
                sim_buf_puts(b, "null");
                return;
        }
        sim_buf_puts(b, "[");
        for (i = 0; i < l->n; i++) {
                if (i)
                        sim_buf_puts(b, ",");
                sim_ip_render(b, &l->ips[i]);
        }
        sim_buf_puts(b, "]");
}
