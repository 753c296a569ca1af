/*
 * main.c: tesserad's entry point: command dispatch and `serve`.
 *
 *   tesserad serve [--listen ADDR:PORT] [--data DIR] [--dev] [--config FILE]
 *                  [--refresh-grace SECONDS] [--master-key-file FILE]
 *   tesserad user add|passwd|disable|enable|revoke-all NAME [--data DIR]
 *   tesserad keys list|rotate [--now]
 *   tesserad sessions list [NAME]
 *
 * `serve` opens the store, loads the master key, makes sure a signing key
 * exists, binds the socket, starts libmicrohttpd's thread pool, prints a
 * ready line, and then the main thread waits for SIGTERM/SIGINT while it
 * runs the periodic work every reload_ms: cache reload when the store
 * changed, the key rotation schedule, and purging expired rows.
 */
#include "admin.h"
#include "audit.h"
#include "http.h"
#include "ratelimit.h"
#include "tcache.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PURGE_EVERY 60
#define PURGE_KEEP (2LL * 86400)

static void usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  tesserad serve [--listen ADDR:PORT] [--data DIR] [--dev] [--config FILE]\n"
            "                 [--refresh-grace SECONDS] [--master-key-file FILE]\n"
            "                 [--audit-log FILE] [--tls-cert PEM --tls-key PEM]\n"
            "  tesserad user add|passwd|disable|enable|revoke-all NAME [--data DIR]\n"
            "      (add and passwd read the password from stdin)\n"
            "  tesserad keys list|rotate [--now] [--data DIR]\n"
            "  tesserad sessions list [NAME] [--data DIR]\n"
            "master key: env TESSERAD_MASTER_KEY (base64url, 32 bytes) or\n"
            "TESSERAD_MASTER_KEY_FILE or --master-key-file; --dev generates DATA/master.key\n");
    config_print_options();
}

int cli_parse(cli *c, int argc, char **argv)
{
    char err[512];
    const char *cfg_file = NULL;
    memset(c, 0, sizeof(*c));
    config_defaults(&c->cfg);
    /* First pass: find --config so the file applies before env and flags. */
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            cfg_file = argv[i + 1];
        }
    }
    if ((cfg_file != NULL && config_load_file(&c->cfg, cfg_file, err, sizeof(err)) != 0) ||
        config_apply_env(&c->cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "tesserad: %s\n", err);
        return -1;
    }
    static const struct {
        const char *flag, *option;
    } map[] = {
        {"--listen", "listen"},
        {"--data", "data"},
        {"--refresh-grace", "refresh_grace"},
        {"--audit-log", "audit_log"},
        {"--tls-cert", "tls_cert"},
        {"--tls-key", "tls_key"},
    };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        bool done = false;
        for (size_t k = 0; k < sizeof(map) / sizeof(map[0]) && !done; k++) {
            if (strcmp(a, map[k].flag) == 0) {
                if (!has_val || config_set(&c->cfg, map[k].option, argv[++i], err, sizeof(err))) {
                    fprintf(stderr, "tesserad: %s: %s\n", a, has_val ? err : "missing value");
                    return -1;
                }
                done = true;
            }
        }
        if (done) {
            continue;
        }
        if (strcmp(a, "--dev") == 0) {
            c->cfg.dev = true;
        } else if (strcmp(a, "--now") == 0) {
            c->now_flag = true;
        } else if ((strcmp(a, "--config") == 0 || strcmp(a, "--master-key-file") == 0) && has_val) {
            if (strcmp(a, "--master-key-file") == 0) {
                snprintf(c->cfg.master_key_file, sizeof(c->cfg.master_key_file), "%s", argv[i + 1]);
            }
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "tesserad: unknown option %s\n", a);
            return -1;
        } else if (c->npos < MAX_POSITIONAL) {
            c->pos[c->npos++] = a;
        } else {
            fprintf(stderr, "tesserad: too many arguments\n");
            return -1;
        }
    }
    return 0;
}

/* ---- serve ---- */

static bool is_loopback(const config *cfg)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, cfg->listen_host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    return inet_pton(AF_INET6, cfg->listen_host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Binds and listens; returns the fd and the actual port (for port 0). */
static int bind_listen(const config *cfg, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->listen_host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(cfg->listen_port);
        sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, cfg->listen_host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(cfg->listen_port);
        sl = sizeof(*s6);
    } else {
        log_error("listen address must be a numeric IPv4 or IPv6 address");
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        log_error("cannot listen on %s:%u: %s", cfg->listen_host, (unsigned)cfg->listen_port,
                  strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    *port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
    return fd;
}

void app_reload(app *a, bool force)
{
    int64_t seq = 0;
    int64_t now = now_s();
    if (a->st->ops->change_seq(a->st, &seq) != STORE_OK) {
        log_error("store unavailable; keeping the current caches");
        return;
    }
    if (force || seq != a->last_seq) {
        /* Revocations older than the longest access-token life can no
         * longer matter for verification. */
        int64_t window = ACCESS_TTL_CAP + a->cfg.leeway + 60;
        if (vcache_reload(a->vc, a->st, now, window) == 0) {
            a->last_seq = seq;
        } else {
            log_error("verify cache reload failed; will retry");
        }
    }
    keyring_tick(a->kr, now, force);
}

static void print_dev_help(const char *argv0, const app *a)
{
    const config *c = &a->cfg;
    fprintf(stderr,
            "\n"
            "tesserad is running in dev mode at %s (data in %s).\n"
            "Create a user (the password is read from stdin):\n"
            "  printf 'correct horse battery' | %s user add alice --data %s\n"
            "Get tokens:\n"
            "  curl -s -X POST %s/v1/login -H 'Content-Type: application/json' \\\n"
            "       -d '{\"username\":\"alice\",\"password\":\"correct horse battery\"}'\n"
            "Verify an access token / refresh:\n"
            "  curl -i %s/v1/verify -H \"Authorization: Bearer $ACCESS_TOKEN\"\n"
            "  curl -s %s/oauth/token -d grant_type=refresh_token -d refresh_token=$REFRESH_TOKEN\n"
            "Keys: %s/.well-known/jwks.json   Stop: Ctrl-C\n\n",
            c->issuer, c->data_dir, argv0, c->data_dir, c->issuer, c->issuer, c->issuer, c->issuer);
}

static int prepare_data_dir(const config *cfg)
{
    if (cfg->dev && mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        log_error("cannot create %s: %s", cfg->data_dir, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (stat(cfg->data_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        log_error("data directory %s does not exist (create it, or use --dev)", cfg->data_dir);
        return -1;
    }
    return 0;
}

static int app_open(app *a, uint16_t port)
{
    char err[512];
    const config *c = &a->cfg;
    a->st = store_open(c->store_spec[0] ? c->store_spec : c->data_dir, err, sizeof(err));
    if (a->st == NULL) {
        log_error("%s", err);
        return -1;
    }
    if (secrets_load(&a->sec, c, a->st, c->dev, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return -1;
    }
    (void)port;
    if (pw_init(&a->pw, c) != 0 || keyring_new(&a->kr, a->st, &a->sec, c) != 0 ||
        vcache_new(&a->vc) != 0 || grace_cache_new(&a->gc) != 0 ||
        tcache_new(&a->tc, c->verify_cache_entries) != 0) {
        log_error("initialisation failed");
        return -1;
    }
    if (ratelimit_new(&a->rl, c, err, sizeof(err)) != 0) {
        log_error("%s", err);
        return -1;
    }
    app_reload(a, true);
    keyview *kv = keyring_acquire(a->kr);
    bool ok = kv != NULL && kv->signer != NULL;
    keyring_release(kv);
    if (!ok) {
        log_error("no usable signing key");
        return -1;
    }
    return 0;
}

static void app_close(app *a)
{
    ratelimit_free(a->rl);
    grace_cache_free(a->gc);
    tcache_free(a->tc);
    vcache_free(a->vc);
    keyring_free(a->kr);
    if (a->st != NULL) {
        pw_free(&a->pw);
    }
    store_close(a->st);
    secrets_wipe(&a->sec);
}

/* Waits for SIGTERM/SIGINT, doing the periodic work in between. */
static void run_loop(app *a, const sigset_t *set)
{
    int64_t last_purge = 0;
    for (;;) {
        struct timespec ts = {(time_t)(a->cfg.reload_ms / 1000),
                              (long)(a->cfg.reload_ms % 1000) * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("signal %d: stopping", sig);
            return;
        }
        app_reload(a, false);
        if (a->st->ops->maintain != NULL) {
            a->st->ops->maintain(a->st);
        }
        int64_t now = now_s();
        if (now - last_purge >= PURGE_EVERY) {
            a->st->ops->purge(a->st, now, PURGE_KEEP);
            last_purge = now;
        }
    }
}

static int cmd_serve(cli *c, const char *argv0)
{
    static app a; /* static: large, and its lifetime is the process */
    char err[512];
    memset(&a, 0, sizeof(a));
    a.cfg = c->cfg;
    bool issuer_set = a.cfg.issuer[0] != '\0';
    if (transport_prepare(&a.cfg, is_loopback(&a.cfg), err, sizeof(err)) != 0) {
        log_error("%s", err);
        return 1;
    }
    if (prepare_data_dir(&a.cfg) != 0) {
        return 1;
    }
    uint16_t port = 0;
    int fd = bind_listen(&a.cfg, &port);
    if (fd < 0) {
        return 1;
    }
    a.cfg.listen_port = port;
    if (!issuer_set) {
        a.cfg.issuer[0] = '\0';
    }
    if (config_finish(&a.cfg, err, sizeof(err)) != 0) {
        log_error("%s", err);
        close(fd);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* every thread inherits this */
    sigdelset(&set, SIGPIPE);
    int rc = 1;
    struct MHD_Daemon *d = NULL;
    if (app_open(&a, port) != 0) {
        close(fd);
        goto out;
    }
    verify_thread_init();
    d = http_start(&a, fd);
    if (d == NULL) {
        log_error("cannot start the HTTP server");
        close(fd);
        goto out;
    }
    if (a.cfg.dev) {
        print_dev_help(argv0, &a);
    }
    /* The ready line comes last: tools (and the tests) wait for it. */
    log_info("tesserad %s ready on %s://%s:%u issuer=%s store=%s%s", tsr_version(),
             transport_tls() ? "https" : "http", a.cfg.listen_host, (unsigned)port, a.cfg.issuer,
             a.st->ops->name, a.cfg.dev ? " (dev mode)" : "");
    run_loop(&a, &set);
    atomic_store(&a.stopping, true);
    pw_drain(&a.pw); /* resumes every suspended login: MHD must not stop with one */
    MHD_stop_daemon(d); /* joins the workers; closes the listening socket */
    rc = 0;
out:
    app_close(&a);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    bool two_words =
        strcmp(cmd, "user") == 0 || strcmp(cmd, "keys") == 0 || strcmp(cmd, "sessions") == 0;
    if (two_words && argc < 3) {
        usage();
        return 2;
    }
    int skip = two_words ? 3 : 2;
    cli c;
    if (cli_parse(&c, argc - skip, argv + skip) != 0) {
        return 2;
    }
    char err[512];
    if (audit_open(c.cfg.audit_log, err, sizeof(err)) != 0) {
        fprintf(stderr, "tesserad: %s\n", err);
        return 1;
    }
    if (strcmp(cmd, "serve") == 0) {
        int rc = c.npos == 0 ? cmd_serve(&c, argv[0]) : (usage(), 2);
        transport_release();
        audit_close();
        return rc;
    }
    if (strcmp(cmd, "user") == 0) {
        return cmd_user(&c, argv[2]);
    }
    if (strcmp(cmd, "keys") == 0) {
        return cmd_keys(&c, argv[2]);
    }
    if (strcmp(cmd, "sessions") == 0 && strcmp(argv[2], "list") == 0) {
        return cmd_sessions(&c);
    }
    usage();
    return 2;
}
