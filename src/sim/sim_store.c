/*
 * sim_store: fixture loading, customers, sales and the business rules of
 * the two Moka operations, see sim_store.h.
 */
#include "sim_store.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sim_json.h"
#include "sim_map.h"

#define FIXTURE_MAX_BYTES (256u << 20)
#define GENERATE_SALES_MAX 5000000LL
#define FIRST_AUTO_ID 100000LL
#define FIRST_GENERATED_SALE_ID 500000LL

struct sim_customer {
        long long id;
        char *code;                     /* NULL: none */
        char *password;
        char *first_name;
        char *last_name;
        long long gender;
        char *birth_date;
        char *gsm_number;
        char *email;
        char *address;
        char *fail;                     /* ResultCode to answer, or NULL */
        char *fail_message;
};

struct sim_dealer {
        char *code;
        char *username;
        char *password;
        char check_key[65];
        bool sale_permission;
        char *fail;
        char *fail_message;
        size_t sale_count;
        struct sim_blob *sales_body;    /* Success answer; NULL: no sales */
        char *sales_sig;                /* what sales_body was made from */
        struct sim_ip_list *ip_allow;   /* owned; NULL: every address */
};

/* One generation of data; replaced as a whole by a reload. */
struct store_data {
        struct sim_dealer *dealers;
        size_t ndealers;
        struct sim_map *by_code;        /* code -> customer (not owner) */
        struct sim_map *by_id;          /* "id" -> customer (owner) */
        long long next_id;
        size_t nsales;
};

struct sim_store {
        pthread_mutex_t lock;           /* guards data and its contents */
        pthread_mutex_t reload_lock;    /* one reload at a time */
        char *fixture_path;
        char **dealer_creds;
        size_t ndealer_creds;
        bool count_key_quirk;
        struct sim_ip_list *ip_allow;   /* --ip-allow, copied to dealers */
        struct store_data *data;
};

/* A sale as rendered; strings are never NULL. */
struct sale_view {
        long long dealer_sale_id;
        const char *sale_code;
        long long dealer_customer_id;
        const char *customer_code;
        long long dealer_product_id;
        const char *product_code;
        long long amount_cents;
        const char *currency;
        long long installment_number;
        long long dealer_sale_schedule_id;
        const char *sale_date;
        const char *begin_date;
        const char *end_date;
        long long how_many_trial;
        const char *description;
        long long plan_type;
        long long dealer_customer_type_id;
        const char *card1;
        const char *card2;
        const char *card3;
};

/* Built-in data set: used when no --fixture is given. */
static const char builtin_fixture[] =
"{\"dealers\":[{\"code\":\"1731\",\"username\":\"TestMoka2\","
"\"password\":\"HYSYHDS8DU8HU\",\"sales\":["
"{\"DealerSaleId\":1003,\"SaleCode\":\"satis\",\"DealerCustomerId\":1034,"
"\"CustomerCode\":\"C1\",\"DealerProductId\":1009,"
"\"ProductCode\":\"Product01\",\"Amount\":1.00,\"Currency\":\"TL\","
"\"InstallmentNumber\":1,\"DealerSaleScheduleId\":1005,"
"\"SaleDate\":\"20170821\",\"BeginDate\":\"20170821\","
"\"EndDate\":\"20171230\",\"HowManyTrial\":1,\"Description\":\"\","
"\"PlanType\":1,\"DealerCustomerTypeId\":0,"
"\"DefaultCard1Token\":\"9de41bb0-e82f-4670-b36b-d71ff27a3111\"},"
"{\"DealerSaleId\":1004,\"SaleCode\":\"satis-2\",\"DealerCustomerId\":1033,"
"\"CustomerCode\":\"Customer\",\"DealerProductId\":1010,"
"\"ProductCode\":\"Product02\",\"Amount\":25.45,\"Currency\":\"USD\","
"\"InstallmentNumber\":3,\"DealerSaleScheduleId\":1006,"
"\"SaleDate\":\"20240105\",\"BeginDate\":\"20240110\",\"EndDate\":\"\","
"\"HowManyTrial\":2,\"Description\":\"Aylik abonelik\",\"PlanType\":3,"
"\"DealerCustomerTypeId\":0,"
"\"DefaultCard1Token\":\"3f2c1d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f\"}]}],"
"\"customers\":["
"{\"DealerCustomerId\":1033,\"CustomerCode\":\"Customer\","
"\"Password\":\"Elif1234\",\"FirstName\":\"Elif\",\"LastName\":\"Y\","
"\"Gender\":2,\"BirthDate\":\"19850710\",\"GsmNumber\":\"5301111111\","
"\"Email\":\"elif.y@moka.com\",\"Address\":\"TA\xc5\x9e" "DELEN\"},"
"{\"DealerCustomerId\":1034,\"CustomerCode\":\"C1\",\"FirstName\":\"Ali\"},"
"{\"DealerCustomerId\":1035,\"CustomerCode\":\"C2\",\"FirstName\":\"Ay\"},"
"{\"DealerCustomerId\":1036,\"CustomerCode\":\"C3\",\"FirstName\":\"Can\"}"
"]}";

/* ---- helpers ---------------------------------------------------------- */

int sim_check_key(const char *code, const char *user, const char *pass,
                  char out[65])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        struct sim_buf b = { 0 };
        int rc = -1;
        unsigned int i;

        sim_buf_puts(&b, code);
        sim_buf_puts(&b, "MK");
        sim_buf_puts(&b, user);
        sim_buf_puts(&b, "PD");
        sim_buf_puts(&b, pass);
        if (b.oom || !b.data)
                goto cleanup;
        if (EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
            mdlen != 32)
                goto cleanup;
        for (i = 0; i < mdlen; i++) {
                out[2 * i] = hex[md[i] >> 4];
                out[2 * i + 1] = hex[md[i] & 15];
        }
        out[64] = '\0';
        rc = 0;
cleanup:
        /* The buffer held a password: wipe it before freeing. */
        if (b.data)
                memset(b.data, 0, b.cap);
        sim_buf_free(&b);
        return rc;
}

void sim_result_release(struct sim_result *r)
{
        sim_buf_free(&r->data);
        sim_blob_unref(r->body);
        r->body = NULL;
}

static void result_set(struct sim_result *r, const char *code,
                       const char *message, bool exception)
{
        snprintf(r->code, sizeof(r->code), "%s", code);
        snprintf(r->message, sizeof(r->message), "%s", message ? message : "");
        r->exception = exception;
}

/* Sets a fixture-driven failure: "EX" gets a message and an Exception. */
static void result_fail(struct sim_result *r, const char *code,
                        const char *message)
{
        bool ex = strcmp(code, "EX") == 0;

        if (!message && ex)
                message = SIM_EX_MESSAGE " (moka-sim fixture)";
        result_set(r, code, message, ex);
}

static bool email_valid(const char *s)
{
        const char *at = strchr(s, '@');
        const char *dot;
        const char *p;

        if (!at || at == s || strchr(at + 1, '@'))
                return false;
        for (p = s; *p; p++)
                if ((unsigned char)*p <= ' ')
                        return false;
        dot = strrchr(at + 1, '.');
        return dot && dot > at + 1 && dot[1] != '\0';
}

/* Replaces *dst with a copy of src; false on allocation failure. */
static bool set_str(char **dst, const char *src)
{
        char *copy = strdup(src);

        if (!copy)
                return false;
        free(*dst);
        *dst = copy;
        return true;
}

static void customer_free(void *p)
{
        struct sim_customer *c = p;

        if (!c)
                return;
        free(c->code);
        free(c->password);
        free(c->first_name);
        free(c->last_name);
        free(c->birth_date);
        free(c->gsm_number);
        free(c->email);
        free(c->address);
        free(c->fail);
        free(c->fail_message);
        free(c);
}

static void dealer_clear(struct sim_dealer *d)
{
        free(d->code);
        if (d->password)
                memset(d->password, 0, strlen(d->password));
        free(d->username);
        free(d->password);
        free(d->fail);
        free(d->fail_message);
        sim_blob_unref(d->sales_body);
        free(d->sales_sig);
        sim_ip_list_destroy(d->ip_allow);
        memset(d, 0, sizeof(*d));
}

static void data_destroy(struct store_data *d)
{
        size_t i;

        if (!d)
                return;
        for (i = 0; i < d->ndealers; i++)
                dealer_clear(&d->dealers[i]);
        free(d->dealers);
        sim_map_destroy(d->by_code, NULL);
        sim_map_destroy(d->by_id, customer_free);
        free(d);
}

static void id_key(long long id, char out[24])
{
        snprintf(out, 24, "%lld", id);
}

/* ---- sale rendering ---------------------------------------------------- */

static void render_amount(struct sim_buf *b, long long cents)
{
        unsigned long long a = cents < 0 ? -(unsigned long long)cents :
                               (unsigned long long)cents;

        sim_buf_printf(b, "%s%llu.%02llu", cents < 0 ? "-" : "", a / 100,
                       a % 100);
}

static void render_sale(struct sim_buf *b, const struct sale_view *v)
{
        sim_buf_printf(b, "{\"DealerSaleId\":%lld,\"SaleCode\":",
                       v->dealer_sale_id);
        sim_buf_json_str(b, v->sale_code);
        sim_buf_printf(b, ",\"DealerCustomerId\":%lld,\"CustomerCode\":",
                       v->dealer_customer_id);
        sim_buf_json_str(b, v->customer_code);
        sim_buf_printf(b, ",\"DealerProductId\":%lld,\"ProductCode\":",
                       v->dealer_product_id);
        sim_buf_json_str(b, v->product_code);
        sim_buf_puts(b, ",\"Amount\":");
        render_amount(b, v->amount_cents);
        sim_buf_puts(b, ",\"Currency\":");
        sim_buf_json_str(b, v->currency);
        sim_buf_printf(b, ",\"InstallmentNumber\":%lld,"
                       "\"DealerSaleScheduleId\":%lld,\"SaleDate\":",
                       v->installment_number, v->dealer_sale_schedule_id);
        sim_buf_json_str(b, v->sale_date);
        sim_buf_puts(b, ",\"BeginDate\":");
        sim_buf_json_str(b, v->begin_date);
        sim_buf_puts(b, ",\"EndDate\":");
        sim_buf_json_str(b, v->end_date);
        sim_buf_printf(b, ",\"HowManyTrial\":%lld,\"Description\":",
                       v->how_many_trial);
        sim_buf_json_str(b, v->description);
        sim_buf_printf(b, ",\"PlanType\":%lld,\"DealerCustomerTypeId\":%lld,"
                       "\"DefaultCard1Token\":", v->plan_type,
                       v->dealer_customer_type_id);
        sim_buf_json_str(b, v->card1);
        sim_buf_puts(b, ",\"DefaultCard2Token\":");
        sim_buf_json_str(b, v->card2);
        sim_buf_puts(b, ",\"DefaultCard3Token\":");
        sim_buf_json_str(b, v->card3);
        sim_buf_puts(b, "}");
}

/* ---- fixture loading --------------------------------------------------- */

struct loader {
        const char *file;               /* for messages */
        const struct store_data *prev;  /* data being replaced, or NULL */
        const struct sim_ip_list *ip_allow;     /* every dealer's, or NULL */
        char *err;
        size_t errlen;
};

static int load_fail(struct loader *ld, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int load_fail(struct loader *ld, const char *fmt, ...)
{
        char msg[400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(ld->err, ld->errlen, "%s: %s", ld->file, msg);
        return -1;
}

/* Keys starting with '_' are comments and are ignored everywhere. */
static bool is_comment_key(const char *key)
{
        return key[0] == '_';
}

static int get_int(struct loader *ld, const char *where, const char *key,
                   struct json_object *v, long long dflt, long long *out)
{
        enum sim_json_rc rc = sim_json_get_int(v, out);

        if (rc == SIM_JSON_BAD)
                return load_fail(ld, "%s.%s: expected an integer", where,
                                 key);
        if (rc == SIM_JSON_UNSET)
                *out = dflt;
        return 0;
}

static int get_str(struct loader *ld, const char *where, const char *key,
                   struct json_object *v, const char *dflt, const char **out)
{
        enum sim_json_rc rc = sim_json_get_str(v, out);

        if (rc == SIM_JSON_BAD)
                return load_fail(ld, "%s.%s: expected a string", where, key);
        if (rc == SIM_JSON_UNSET)
                *out = dflt;
        return 0;
}

static const char *const sale_keys[] = {
        "DealerSaleId", "SaleCode", "DealerCustomerId", "CustomerCode",
        "DealerProductId", "ProductCode", "Amount", "Currency",
        "InstallmentNumber", "DealerSaleScheduleId", "SaleDate",
        "BeginDate", "EndDate", "HowManyTrial", "Description", "PlanType",
        "DealerCustomerTypeId", "DefaultCard1Token", "DefaultCard2Token",
        "DefaultCard3Token", NULL,
};

static bool key_known(const char *const *keys, const char *key)
{
        for (; *keys; keys++)
                if (strcmp(*keys, key) == 0)
                        return true;
        return false;
}

static struct json_object *field(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;

        json_object_object_get_ex(o, key, &v);
        return v;
}

static int load_sale(struct loader *ld, const char *where,
                     struct json_object *o, struct sale_view *v)
{
        double amount;
        enum sim_json_rc rc;
        int r = 0;

        if (!json_object_is_type(o, json_type_object))
                return load_fail(ld, "%s: expected an object", where);
        json_object_object_foreach(o, key, val) {
                (void)val;
                if (!is_comment_key(key) && !key_known(sale_keys, key))
                        return load_fail(ld, "%s: unknown key \"%s\"", where,
                                         key);
        }
#define SALE_INT(k, m, d) \
        r |= get_int(ld, where, k, field(o, k), d, &v->m)
#define SALE_STR(k, m, d) \
        r |= get_str(ld, where, k, field(o, k), d, &v->m)
        SALE_INT("DealerSaleId", dealer_sale_id, 0);
        SALE_STR("SaleCode", sale_code, "");
        SALE_INT("DealerCustomerId", dealer_customer_id, 0);
        SALE_STR("CustomerCode", customer_code, "");
        SALE_INT("DealerProductId", dealer_product_id, 0);
        SALE_STR("ProductCode", product_code, "");
        SALE_STR("Currency", currency, "TL");
        SALE_INT("InstallmentNumber", installment_number, 1);
        SALE_INT("DealerSaleScheduleId", dealer_sale_schedule_id, 0);
        SALE_STR("SaleDate", sale_date, "");
        SALE_STR("BeginDate", begin_date, "");
        SALE_STR("EndDate", end_date, "");
        SALE_INT("HowManyTrial", how_many_trial, 1);
        SALE_STR("Description", description, "");
        SALE_INT("PlanType", plan_type, 1);
        SALE_INT("DealerCustomerTypeId", dealer_customer_type_id, 0);
        SALE_STR("DefaultCard1Token", card1, "");
        SALE_STR("DefaultCard2Token", card2, "");
        SALE_STR("DefaultCard3Token", card3, "");
#undef SALE_INT
#undef SALE_STR
        if (r)
                return -1;
        rc = sim_json_get_double(field(o, "Amount"), &amount);
        if (rc == SIM_JSON_BAD || fabs(amount) > 1e15)
                return load_fail(ld, "%s.Amount: expected a number", where);
        v->amount_cents = rc == SIM_JSON_OK ? llround(amount * 100.0) : 0;
        return 0;
}

static void generated_sale(long long i, long long first_id,
                           struct sale_view *v, char *scratch, size_t n)
{
        static const char *const currencies[] = { "TL", "USD", "EUR" };
        char *sale_code = scratch;
        char *cust_code = scratch + n / 4;
        char *product = scratch + n / 2;
        char *card = scratch + 3 * n / 4;

        snprintf(sale_code, n / 4, "gen-%06lld", i);
        snprintf(cust_code, n / 4, "gen-cust-%04lld", i % 1000);
        snprintf(product, n / 4, "Product%02lld", i % 10);
        snprintf(card, n / 4, "00000000-0000-4000-8000-%012lld", i);
        memset(v, 0, sizeof(*v));
        v->dealer_sale_id = first_id + i;
        v->sale_code = sale_code;
        v->dealer_customer_id = FIRST_AUTO_ID / 2 + i % 1000;
        v->customer_code = cust_code;
        v->dealer_product_id = 2000 + i % 10;
        v->product_code = product;
        v->amount_cents = 100 + (i * 37) % 100000;
        v->currency = currencies[i % 3];
        v->installment_number = 1 + i % 12;
        v->dealer_sale_schedule_id = 3000 + i % 5;
        v->sale_date = "20240101";
        v->begin_date = "20240115";
        v->end_date = (i % 2) ? "" : "20251231";
        v->how_many_trial = 1 + i % 3;
        v->description = "moka-sim generated sale";
        v->plan_type = 1 + i % 3;
        v->dealer_customer_type_id = 0;
        v->card1 = card;
        v->card2 = "";
        v->card3 = "";
}

static int load_sales(struct loader *ld, const char *where,
                      struct json_object *sales, long long generate,
                      bool quirk, struct sim_dealer *d)
{
        struct sim_buf b = { 0 };
        size_t n = sales ? json_object_array_length(sales) : 0;
        long long max_id = FIRST_GENERATED_SALE_ID - 1;
        char path[96];
        char scratch[256];
        struct sale_view v;
        size_t i;
        long long g;
        int rc = -1;

        if (n + (size_t)generate == 0)
                return 0;
        sim_buf_printf(&b, "{\"Data\":{\"%sDealerSaleListCount\":%zu,"
                       "\"DealerSaleList\":[", quirk ? " " : "",
                       n + (size_t)generate);
        for (i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s.sales[%zu]", where, i);
                if (load_sale(ld, path, json_object_array_get_idx(sales, i),
                              &v) != 0)
                        goto cleanup;
                if (v.dealer_sale_id > max_id)
                        max_id = v.dealer_sale_id;
                if (i)
                        sim_buf_puts(&b, ",");
                render_sale(&b, &v);
        }
        for (g = 0; g < generate; g++) {
                generated_sale(g, max_id + 1, &v, scratch, sizeof(scratch));
                if (i || g)
                        sim_buf_puts(&b, ",");
                render_sale(&b, &v);
        }
        sim_buf_puts(&b, "]},\"ResultCode\":\"Success\",\"ResultMessage\":"
                     "\"\",\"Exception\":null}");
        d->sales_body = sim_blob_from_buf(&b);
        if (!d->sales_body) {
                load_fail(ld, "%s: out of memory rendering sales", where);
                goto cleanup;
        }
        d->sale_count = n + (size_t)generate;
        rc = 0;
cleanup:
        sim_buf_free(&b);
        return rc;
}

/*
 * Sale lists never change at run time, so a reload reuses the rendered
 * body of a dealer whose sales are defined exactly as before: a reset
 * then costs microseconds even with a generated list of 50000 sales.
 */
static int dealer_sales(struct loader *ld, const char *where,
                        struct json_object *sales, long long generate,
                        bool quirk, struct sim_dealer *d)
{
        struct sim_buf sig = { 0 };
        size_t i;

        sim_buf_printf(&sig, "%d:%lld:", quirk, generate);
        sim_buf_puts(&sig, sales ? json_object_to_json_string_ext(
                             sales, JSON_C_TO_STRING_PLAIN) : "null");
        d->sales_sig = sim_buf_steal(&sig, NULL);
        if (!d->sales_sig)
                return load_fail(ld, "out of memory");
        for (i = 0; ld->prev && i < ld->prev->ndealers; i++) {
                const struct sim_dealer *old = &ld->prev->dealers[i];

                if (old->sales_sig && strcmp(old->code, d->code) == 0 &&
                    strcmp(old->sales_sig, d->sales_sig) == 0) {
                        d->sales_body = sim_blob_ref(old->sales_body);
                        d->sale_count = old->sale_count;
                        return 0;
                }
        }
        return load_sales(ld, where, sales, generate, quirk, d);
}

static const char *const dealer_keys[] = {
        "code", "username", "password", "sale_permission", "fail",
        "fail_message", "sales", "generate_sales", NULL,
};

static int load_dealer(struct loader *ld, size_t idx, struct json_object *o,
                       bool quirk, struct sim_dealer *d)
{
        char where[48];
        const char *code;
        const char *user;
        const char *pass;
        const char *fail;
        const char *fail_message;
        struct json_object *sales;
        long long generate;
        int permission = 1;

        snprintf(where, sizeof(where), "dealers[%zu]", idx);
        if (!json_object_is_type(o, json_type_object))
                return load_fail(ld, "%s: expected an object", where);
        json_object_object_foreach(o, key, val) {
                (void)val;
                if (!is_comment_key(key) && !key_known(dealer_keys, key))
                        return load_fail(ld, "%s: unknown key \"%s\"", where,
                                         key);
        }
        if (get_str(ld, where, "code", field(o, "code"), NULL, &code) ||
            get_str(ld, where, "username", field(o, "username"), NULL,
                    &user) ||
            get_str(ld, where, "password", field(o, "password"), NULL,
                    &pass) ||
            get_str(ld, where, "fail", field(o, "fail"), NULL, &fail) ||
            get_str(ld, where, "fail_message", field(o, "fail_message"),
                    NULL, &fail_message) ||
            get_int(ld, where, "generate_sales", field(o, "generate_sales"),
                    0, &generate))
                return -1;
        if (!code || !user || !pass)
                return load_fail(ld, "%s: code, username and password are "
                                 "required", where);
        if (generate < 0 || generate > GENERATE_SALES_MAX)
                return load_fail(ld, "%s.generate_sales: expected 0..%lld",
                                 where, GENERATE_SALES_MAX);
        if (sim_json_get_bool(field(o, "sale_permission"), &permission) ==
            SIM_JSON_BAD)
                return load_fail(ld, "%s.sale_permission: expected true or "
                                 "false", where);
        sales = field(o, "sales");
        if (sales && !json_object_is_type(sales, json_type_array))
                return load_fail(ld, "%s.sales: expected an array", where);
        if (!(d->code = strdup(code)) || !(d->username = strdup(user)) ||
            !(d->password = strdup(pass)) ||
            (fail && !(d->fail = strdup(fail))) ||
            (fail_message && !(d->fail_message = strdup(fail_message))) ||
            (ld->ip_allow && !(d->ip_allow = sim_ip_list_copy(ld->ip_allow))))
                return load_fail(ld, "out of memory");
        if (sim_check_key(code, user, pass, d->check_key) != 0)
                return load_fail(ld, "%s: SHA-256 failed", where);
        d->sale_permission = permission != 0;
        return dealer_sales(ld, where, sales, generate, quirk, d);
}

static const char *const customer_keys[] = {
        "DealerCustomerId", "CustomerCode", "Password", "FirstName",
        "LastName", "Gender", "BirthDate", "GsmNumber", "Email", "Address",
        "fail", "fail_message", NULL,
};

static int load_customer(struct loader *ld, size_t idx, struct json_object *o,
                         struct sim_customer *c, bool *has_id)
{
        char where[48];
        const char *s[11];
        char **dst[11] = {
                &c->code, &c->password, &c->first_name, &c->last_name,
                &c->birth_date, &c->gsm_number, &c->email, &c->address,
                &c->fail, &c->fail_message, NULL,
        };
        static const char *const names[] = {
                "CustomerCode", "Password", "FirstName", "LastName",
                "BirthDate", "GsmNumber", "Email", "Address", "fail",
                "fail_message", NULL,
        };
        enum sim_json_rc rc;
        size_t i;

        snprintf(where, sizeof(where), "customers[%zu]", idx);
        if (!json_object_is_type(o, json_type_object))
                return load_fail(ld, "%s: expected an object", where);
        json_object_object_foreach(o, key, val) {
                (void)val;
                if (!is_comment_key(key) && !key_known(customer_keys, key))
                        return load_fail(ld, "%s: unknown key \"%s\"", where,
                                         key);
        }
        rc = sim_json_get_int(field(o, "DealerCustomerId"), &c->id);
        if (rc == SIM_JSON_BAD || (rc == SIM_JSON_OK && c->id <= 0))
                return load_fail(ld, "%s.DealerCustomerId: expected a "
                                 "positive integer", where);
        *has_id = rc == SIM_JSON_OK;
        if (get_int(ld, where, "Gender", field(o, "Gender"), 0, &c->gender))
                return -1;
        for (i = 0; names[i]; i++) {
                if (get_str(ld, where, names[i], field(o, names[i]), NULL,
                            &s[i]))
                        return -1;
                if (s[i] && !(*dst[i] = strdup(s[i])))
                        return load_fail(ld, "out of memory");
        }
        return 0;
}

static int load_customers(struct loader *ld, struct json_object *arr,
                          struct store_data *d)
{
        size_t n = arr ? json_object_array_length(arr) : 0;
        long long max_id = FIRST_AUTO_ID - 1;
        bool *has_id = NULL;
        struct sim_customer **list = NULL;
        char key[24];
        size_t i;
        int rc = -1;

        if (n == 0)
                goto done;
        list = calloc(n, sizeof(*list));
        has_id = calloc(n, sizeof(*has_id));
        if (!list || !has_id) {
                load_fail(ld, "out of memory");
                goto cleanup;
        }
        for (i = 0; i < n; i++) {
                list[i] = calloc(1, sizeof(**list));
                if (!list[i]) {
                        load_fail(ld, "out of memory");
                        goto cleanup;
                }
                if (load_customer(ld, i, json_object_array_get_idx(arr, i),
                                  list[i], &has_id[i]) != 0)
                        goto cleanup;
                if (has_id[i] && list[i]->id > max_id)
                        max_id = list[i]->id;
        }
        /* Customers without an id get one after the largest given id. */
        for (i = 0; i < n; i++)
                if (!has_id[i])
                        list[i]->id = ++max_id;
        for (i = 0; i < n; i++) {
                struct sim_customer *c = list[i];

                id_key(c->id, key);
                if (sim_map_get(d->by_id, key)) {
                        load_fail(ld, "customers[%zu]: duplicate "
                                  "DealerCustomerId %lld", i, c->id);
                        goto cleanup;
                }
                if (c->code && sim_map_get(d->by_code, c->code)) {
                        load_fail(ld, "customers[%zu]: duplicate "
                                  "CustomerCode \"%s\"", i, c->code);
                        goto cleanup;
                }
                if (sim_map_put(d->by_id, key, c) != 0) {
                        load_fail(ld, "out of memory");
                        goto cleanup;
                }
                list[i] = NULL;         /* d->by_id owns it now */
                if (c->code && sim_map_put(d->by_code, c->code, c) != 0) {
                        load_fail(ld, "out of memory");
                        goto cleanup;
                }
        }
done:
        d->next_id = max_id + 1;
        rc = 0;
cleanup:
        for (i = 0; list && i < n; i++)
                customer_free(list[i]);
        free(list);
        free(has_id);
        return rc;
}

/*
 * Appends `nd` (its code, username and password set) to the dealers with
 * its CheckKey and sale permission (no sales: DealerSaleNotFund). The list
 * owns it on success; the caller clears it on failure (-1: out of memory).
 */
static int dealer_append(struct store_data *d, struct sim_dealer *nd)
{
        struct sim_dealer *grown;

        if (sim_check_key(nd->code, nd->username, nd->password,
                          nd->check_key) != 0)
                return -1;
        nd->sale_permission = true;
        grown = realloc(d->dealers, (d->ndealers + 1) * sizeof(*grown));
        if (!grown)
                return -1;
        d->dealers = grown;
        d->dealers[d->ndealers++] = *nd;
        return 0;
}

/* Adds a --dealer CODE:USER:PASS unless a fixture dealer is the same. */
static int add_cred_dealer(struct loader *ld, struct store_data *d,
                           const char *cred)
{
        const char *c1 = strchr(cred, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        struct sim_dealer nd = { 0 };
        size_t i;

        if (!c1 || !c2 || c1 == cred || c2 == c1 + 1 || c2[1] == '\0')
                return load_fail(ld, "--dealer: expected CODE:USER:PASS");
        nd.code = strndup(cred, (size_t)(c1 - cred));
        nd.username = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
        nd.password = strdup(c2 + 1);
        if (!nd.code || !nd.username || !nd.password)
                goto oom;
        if (ld->ip_allow && !(nd.ip_allow = sim_ip_list_copy(ld->ip_allow)))
                goto oom;
        for (i = 0; i < d->ndealers; i++) {
                if (strcmp(d->dealers[i].code, nd.code) == 0 &&
                    strcmp(d->dealers[i].username, nd.username) == 0 &&
                    strcmp(d->dealers[i].password, nd.password) == 0) {
                        dealer_clear(&nd);
                        return 0;
                }
        }
        if (dealer_append(d, &nd) != 0)
                goto oom;
        return 0;
oom:
        dealer_clear(&nd);
        return load_fail(ld, "out of memory");
}

static char *read_file(const char *path, size_t *len, char *err,
                       size_t errlen)
{
        FILE *f = fopen(path, "rb");
        char *data = NULL;
        long size;

        if (!f) {
                snprintf(err, errlen, "%s: %s", path, strerror(errno));
                return NULL;
        }
        if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
            fseek(f, 0, SEEK_SET) != 0) {
                snprintf(err, errlen, "%s: cannot determine size", path);
                goto cleanup;
        }
        if ((unsigned long)size > FIXTURE_MAX_BYTES) {
                snprintf(err, errlen, "%s: larger than %u bytes", path,
                         FIXTURE_MAX_BYTES);
                goto cleanup;
        }
        data = malloc((size_t)size + 1);
        if (!data) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto cleanup;
        }
        if (fread(data, 1, (size_t)size, f) != (size_t)size) {
                snprintf(err, errlen, "%s: read error", path);
                free(data);
                data = NULL;
                goto cleanup;
        }
        data[size] = '\0';
        *len = (size_t)size;
cleanup:
        fclose(f);
        return data;
}

static struct store_data *data_load(struct sim_store *s,
                                    const struct store_data *prev, char *err,
                                    size_t errlen)
{
        struct loader ld = {
                .file = s->fixture_path ? s->fixture_path : "(built-in)",
                .prev = prev,
                .ip_allow = s->ip_allow,
                .err = err,
                .errlen = errlen,
        };
        struct store_data *d = NULL;
        struct json_object *root = NULL;
        struct json_object *dealers;
        char perr[200];
        char *text = NULL;
        size_t len = 0;
        size_t i;

        if (s->fixture_path) {
                text = read_file(s->fixture_path, &len, err, errlen);
                if (!text)
                        return NULL;
                root = sim_json_parse(text, len, perr, sizeof(perr));
        } else {
                root = sim_json_parse(builtin_fixture,
                                      sizeof(builtin_fixture) - 1, perr,
                                      sizeof(perr));
        }
        if (!root) {
                load_fail(&ld, "%s", perr);
                goto fail;
        }
        if (!json_object_is_type(root, json_type_object)) {
                load_fail(&ld, "expected a JSON object");
                goto fail;
        }
        json_object_object_foreach(root, key, val) {
                (void)val;
                if (!is_comment_key(key) && strcmp(key, "dealers") != 0 &&
                    strcmp(key, "customers") != 0) {
                        load_fail(&ld, "unknown key \"%s\"", key);
                        goto fail;
                }
        }
        d = calloc(1, sizeof(*d));
        if (!d || !(d->by_code = sim_map_create()) ||
            !(d->by_id = sim_map_create())) {
                load_fail(&ld, "out of memory");
                goto fail;
        }
        dealers = field(root, "dealers");
        if (dealers && !json_object_is_type(dealers, json_type_array)) {
                load_fail(&ld, "dealers: expected an array");
                goto fail;
        }
        if (dealers && json_object_array_length(dealers) > 0) {
                size_t n = json_object_array_length(dealers);

                d->dealers = calloc(n, sizeof(*d->dealers));
                if (!d->dealers) {
                        load_fail(&ld, "out of memory");
                        goto fail;
                }
                for (i = 0; i < n; i++) {
                        d->ndealers++;
                        if (load_dealer(&ld, i,
                                        json_object_array_get_idx(dealers, i),
                                        s->count_key_quirk,
                                        &d->dealers[i]) != 0)
                                goto fail;
                        d->nsales += d->dealers[i].sale_count;
                }
        }
        if (field(root, "customers") &&
            !json_object_is_type(field(root, "customers"),
                                 json_type_array)) {
                load_fail(&ld, "customers: expected an array");
                goto fail;
        }
        if (load_customers(&ld, field(root, "customers"), d) != 0)
                goto fail;
        for (i = 0; i < s->ndealer_creds; i++)
                if (add_cred_dealer(&ld, d, s->dealer_creds[i]) != 0)
                        goto fail;
        json_object_put(root);
        free(text);
        return d;
fail:
        data_destroy(d);
        json_object_put(root);
        free(text);
        return NULL;
}

/* ---- public API -------------------------------------------------------- */

struct sim_store *sim_store_create(const struct sim_store_options *o,
                                   char *err, size_t errlen)
{
        struct sim_store *s = calloc(1, sizeof(*s));
        size_t i;

        if (!s) {
                snprintf(err, errlen, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_mutex_init(&s->reload_lock, NULL);
        s->count_key_quirk = o->count_key_quirk;
        if (o->ip_allow && !(s->ip_allow = sim_ip_list_copy(o->ip_allow)))
                goto oom;
        if (o->fixture_path && !(s->fixture_path = strdup(o->fixture_path)))
                goto oom;
        if (o->ndealers) {
                s->dealer_creds = calloc(o->ndealers, sizeof(char *));
                if (!s->dealer_creds)
                        goto oom;
                for (i = 0; i < o->ndealers; i++) {
                        s->dealer_creds[i] = strdup(o->dealers[i]);
                        if (!s->dealer_creds[i])
                                goto oom;
                        s->ndealer_creds++;
                }
        }
        s->data = data_load(s, NULL, err, errlen);
        if (!s->data) {
                sim_store_destroy(s);
                return NULL;
        }
        return s;
oom:
        snprintf(err, errlen, "out of memory");
        sim_store_destroy(s);
        return NULL;
}

void sim_store_destroy(struct sim_store *s)
{
        size_t i;

        if (!s)
                return;
        data_destroy(s->data);
        for (i = 0; i < s->ndealer_creds; i++) {
                memset(s->dealer_creds[i], 0, strlen(s->dealer_creds[i]));
                free(s->dealer_creds[i]);
        }
        free(s->dealer_creds);
        free(s->fixture_path);
        sim_ip_list_destroy(s->ip_allow);
        pthread_mutex_destroy(&s->reload_lock);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

int sim_store_reload(struct sim_store *s, char *err, size_t errlen)
{
        struct store_data *fresh;
        struct store_data *old;

        /*
         * Only a reload replaces s->data, and dealers change only under
         * reload_lock too (sim_store_set_dealer), so under reload_lock the
         * old dealers can be read without the data lock (which request
         * threads hold).
         */
        pthread_mutex_lock(&s->reload_lock);
        fresh = data_load(s, s->data, err, errlen);
        if (!fresh) {
                pthread_mutex_unlock(&s->reload_lock);
                return -1;
        }
        pthread_mutex_lock(&s->lock);
        old = s->data;
        s->data = fresh;
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_unlock(&s->reload_lock);
        data_destroy(old);              /* blobs in flight hold their refs */
        return 0;
}

void sim_store_counts(struct sim_store *s, size_t *dealers,
                      size_t *customers, size_t *sales)
{
        pthread_mutex_lock(&s->lock);
        *dealers = s->data->ndealers;
        *customers = sim_map_count(s->data->by_id);
        *sales = s->data->nsales;
        pthread_mutex_unlock(&s->lock);
}

enum auth_rc {
        AUTH_OK,
        AUTH_BAD,                       /* the endpoint's InvalidRequest */
        AUTH_IP,                        /* SIM_IP_NOT_ALLOWED */
};

/*
 * Checks an authentication block. The address comes first, as Moka
 * checks the dealer's allow-list before its credentials: the first
 * dealer with the given code decides (every dealer of one code gets the
 * same list). An unknown code has no list and fails the credentials.
 */
static enum auth_rc store_auth(const struct store_data *d,
                               const struct sim_auth *a,
                               const struct sim_dealer **out)
{
        size_t i;

        *out = NULL;
        if (!a->dealer_code)
                return AUTH_BAD;
        for (i = 0; i < d->ndealers; i++) {
                if (strcmp(d->dealers[i].code, a->dealer_code) != 0)
                        continue;
                if (!sim_ip_list_allows(d->dealers[i].ip_allow, a->peer))
                        return AUTH_IP;
                break;
        }
        if (!a->username || !a->password || !a->check_key)
                return AUTH_BAD;
        for (i = 0; i < d->ndealers; i++) {
                const struct sim_dealer *dl = &d->dealers[i];

                if (strcmp(dl->code, a->dealer_code) == 0 &&
                    strcmp(dl->username, a->username) == 0 &&
                    strcmp(dl->password, a->password) == 0) {
                        if (strcmp(dl->check_key, a->check_key) != 0)
                                return AUTH_BAD;
                        *out = dl;
                        return AUTH_OK;
                }
        }
        return AUTH_BAD;
}

static void render_customer(struct sim_buf *b, const struct sim_customer *c)
{
        sim_buf_printf(b, "{\"DealerCustomer\":{\"DealerCustomerId\":%lld,"
                       "\"CustomerCode\":", c->id);
        sim_buf_json_str(b, c->code);
        sim_buf_puts(b, ",\"Password\":");
        sim_buf_json_str(b, c->password);
        sim_buf_puts(b, ",\"FirstName\":");
        sim_buf_json_str(b, c->first_name);
        sim_buf_puts(b, ",\"LastName\":");
        sim_buf_json_str(b, c->last_name);
        sim_buf_printf(b, ",\"Gender\":%lld,\"BirthDate\":", c->gender);
        sim_buf_json_str(b, c->birth_date);
        sim_buf_puts(b, ",\"GsmNumber\":");
        sim_buf_json_str(b, c->gsm_number);
        sim_buf_puts(b, ",\"Email\":");
        sim_buf_json_str(b, c->email);
        sim_buf_puts(b, ",\"Address\":");
        sim_buf_json_str(b, c->address);
        sim_buf_puts(b, "},\"CardListCount\":0,\"CardList\":[]}");
}

static bool apply_update(struct sim_customer *c,
                         const struct sim_customer_req *r)
{
        bool ok = true;

        if (r->password)
                ok &= set_str(&c->password, r->password);
        if (r->first_name)
                ok &= set_str(&c->first_name, r->first_name);
        if (r->last_name)
                ok &= set_str(&c->last_name, r->last_name);
        if (r->has_gender)
                c->gender = r->gender;
        if (r->birth_date)
                ok &= set_str(&c->birth_date, r->birth_date);
        if (r->gsm_number)
                ok &= set_str(&c->gsm_number, r->gsm_number);
        if (r->email)
                ok &= set_str(&c->email, r->email);
        if (r->address)
                ok &= set_str(&c->address, r->address);
        return ok;
}

static struct sim_customer *create_auto(struct store_data *d,
                                        const char *code)
{
        struct sim_customer *c = calloc(1, sizeof(*c));
        char key[24];

        if (!c || !(c->code = strdup(code)))
                goto fail;
        c->id = d->next_id;
        id_key(c->id, key);
        if (sim_map_put(d->by_id, key, c) != 0)
                goto fail;
        if (sim_map_put(d->by_code, code, c) != 0) {
                sim_map_remove(d->by_id, key);
                goto fail;
        }
        d->next_id++;
        return c;
fail:
        customer_free(c);
        return NULL;
}

void sim_store_update_customer(struct sim_store *s,
                               const struct sim_auth *auth,
                               const struct sim_customer_req *req,
                               bool empty_invalid, struct sim_result *out)
{
        const struct sim_dealer *dl;
        struct store_data *d;
        struct sim_customer *target;
        struct sim_customer *other;
        char key[24];

        pthread_mutex_lock(&s->lock);
        d = s->data;
        switch (store_auth(d, auth, &dl)) {
        case AUTH_IP:
                result_set(out, SIM_IP_NOT_ALLOWED, "", false);
                goto cleanup;
        case AUTH_BAD:
                result_set(out, SIM_UC_INVALID_REQUEST, "", false);
                goto cleanup;
        case AUTH_OK:
                break;
        }
        if (!req->has_id && !req->code) {
                /* Moka may call such an object "empty": undocumented. */
                result_set(out, empty_invalid ? SIM_UC_INVALID_REQUEST :
                           SIM_UC_PREFIX
                           "CustomerCodeOrDealerCustomerIdMustBeGiven", "",
                           false);
                goto cleanup;
        }
        if (req->email && !email_valid(req->email)) {
                result_set(out, SIM_UC_PREFIX "InvalidEmailFormat", "",
                           false);
                goto cleanup;
        }
        if (req->has_id) {
                id_key(req->id, key);
                target = sim_map_get(d->by_id, key);
        } else {
                target = sim_map_get(d->by_code, req->code);
        }
        if (target && target->fail) {
                result_fail(out, target->fail, target->fail_message);
                goto cleanup;
        }
        if (!target && !req->has_id &&
            strncmp(req->code, SIM_AUTO_PREFIX,
                    sizeof(SIM_AUTO_PREFIX) - 1) == 0) {
                target = create_auto(d, req->code);
                if (!target) {
                        result_fail(out, "EX", "moka-sim: out of memory");
                        goto cleanup;
                }
        }
        if (!target) {
                result_set(out, SIM_UC_PREFIX "DealerCustomerNotFound", "",
                           false);
                goto cleanup;
        }
        if (req->has_id && req->code &&
            (!target->code || strcmp(target->code, req->code) != 0)) {
                other = sim_map_get(d->by_code, req->code);
                result_set(out, other && other != target ?
                           SIM_UC_PREFIX "CustomerCodeAlreadyUsing" :
                           SIM_UC_PREFIX "CustomerCodeDoesntMatchDealer"
                           "CustomerId", "", false);
                goto cleanup;
        }
        if (!apply_update(target, req)) {
                result_fail(out, "EX", "moka-sim: out of memory");
                goto cleanup;
        }
        render_customer(&out->data, target);
        result_set(out, "Success", "", false);
cleanup:
        pthread_mutex_unlock(&s->lock);
}

void sim_store_sale_list(struct sim_store *s, const struct sim_auth *auth,
                         struct sim_result *out)
{
        const struct sim_dealer *dl;
        enum auth_rc rc;

        pthread_mutex_lock(&s->lock);
        rc = store_auth(s->data, auth, &dl);
        if (rc == AUTH_IP)
                result_set(out, SIM_IP_NOT_ALLOWED, "", false);
        else if (rc != AUTH_OK)
                result_set(out, SIM_SL_INVALID_REQUEST, "", false);
        else if (dl->fail)
                result_fail(out, dl->fail, dl->fail_message);
        else if (!dl->sale_permission)
                result_set(out, "DealerSale.GetSaleList.PermissionDenied", "",
                           false);
        else if (dl->sale_count == 0)
                result_set(out, "DealerSale.GetSaleList.DealerSaleNotFund",
                           "", false);
        else {
                out->body = sim_blob_ref(dl->sales_body);
                result_set(out, "Success", "", false);
        }
        pthread_mutex_unlock(&s->lock);
}

/* ---- run-time dealer changes (POST /_sim/dealers) ---------------------- */

/*
 * Builds dl's new state in tmp without touching dl, so that a failed
 * allocation changes nothing. tmp takes only what changes.
 */
static int dealer_prepare(const struct sim_dealer *dl,
                          const struct sim_dealer_change *c,
                          struct sim_dealer *tmp)
{
        memset(tmp, 0, sizeof(*tmp));
        if (c->username && !(tmp->username = strdup(c->username)))
                return -1;
        if (c->password && !(tmp->password = strdup(c->password)))
                return -1;
        if (c->set_ip_allow && c->ip_allow &&
            !(tmp->ip_allow = sim_ip_list_copy(c->ip_allow)))
                return -1;
        return sim_check_key(dl->code,
                             tmp->username ? tmp->username : dl->username,
                             tmp->password ? tmp->password : dl->password,
                             tmp->check_key);
}

/* Moves tmp's fields into dl; what dl held goes back to tmp. */
static void dealer_commit(struct sim_dealer *dl,
                          const struct sim_dealer_change *c,
                          struct sim_dealer *tmp)
{
        char *p;
        struct sim_ip_list *l;

        if (tmp->username) {
                p = dl->username;
                dl->username = tmp->username;
                tmp->username = p;
        }
        if (tmp->password) {
                p = dl->password;
                dl->password = tmp->password;
                tmp->password = p;
        }
        if (c->set_ip_allow) {
                l = dl->ip_allow;
                dl->ip_allow = tmp->ip_allow;
                tmp->ip_allow = l;
        }
        memcpy(dl->check_key, tmp->check_key, sizeof(dl->check_key));
}

static int dealer_create(struct store_data *d,
                         const struct sim_dealer_change *c,
                         const struct sim_ip_list *dflt_allow)
{
        struct sim_dealer nd = { 0 };
        const struct sim_ip_list *allow =
                c->set_ip_allow ? c->ip_allow : dflt_allow;

        if (!(nd.code = strdup(c->dealer_code)) ||
            !(nd.username = strdup(c->username)) ||
            !(nd.password = strdup(c->password)) ||
            (allow && !(nd.ip_allow = sim_ip_list_copy(allow))) ||
            dealer_append(d, &nd) != 0)
                goto fail;
        return 0;
fail:
        dealer_clear(&nd);
        return -1;
}

int sim_store_set_dealer(struct sim_store *s,
                         const struct sim_dealer_change *c, char *err,
                         size_t errlen)
{
        struct store_data *d;
        struct sim_dealer tmp;
        bool found = false;
        int rc = 0;
        size_t i;

        /*
         * reload_lock first, as a reload does: a reload reads the old
         * dealers under reload_lock alone, so they change only under it.
         */
        pthread_mutex_lock(&s->reload_lock);
        pthread_mutex_lock(&s->lock);
        d = s->data;
        for (i = 0; i < d->ndealers && rc == 0; i++) {
                if (strcmp(d->dealers[i].code, c->dealer_code) != 0)
                        continue;
                found = true;
                if (dealer_prepare(&d->dealers[i], c, &tmp) == 0)
                        dealer_commit(&d->dealers[i], c, &tmp);
                else
                        rc = -1;
                /* tmp holds the old values (or the failed new ones). */
                if (tmp.password)
                        memset(tmp.password, 0, strlen(tmp.password));
                free(tmp.username);
                free(tmp.password);
                sim_ip_list_destroy(tmp.ip_allow);
        }
        if (rc != 0) {
                snprintf(err, errlen, "out of memory");
        } else if (!found && (!c->username || !c->password)) {
                snprintf(err, errlen, "dealer \"%.40s\" does not exist: "
                         "username and password are required to create it",
                         c->dealer_code);
                rc = -1;
        } else if (!found && dealer_create(d, c, s->ip_allow) != 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
        }
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_unlock(&s->reload_lock);
        return rc;
}

void sim_store_render_dealers(struct sim_store *s, struct sim_buf *b)
{
        const struct store_data *d;
        size_t i;

        sim_buf_puts(b, "{\"dealers\":[");
        pthread_mutex_lock(&s->lock);
        d = s->data;
        for (i = 0; i < d->ndealers; i++) {
                const struct sim_dealer *dl = &d->dealers[i];

                sim_buf_puts(b, i ? ",{\"dealer_code\":" :
                             "{\"dealer_code\":");
                sim_buf_json_str(b, dl->code);
                sim_buf_puts(b, ",\"username\":");
                sim_buf_json_str(b, dl->username);
                sim_buf_puts(b, ",\"ip_allow\":");
                sim_ip_list_render(b, dl->ip_allow);
                sim_buf_puts(b, "}");
        }
        pthread_mutex_unlock(&s->lock);
        sim_buf_puts(b, "]}");
}
