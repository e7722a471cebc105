/*
 * server_reload.c - what the gateway reads from files at start and again on
 * SIGHUP (rpc_gateway_new, rpc_gw_sighup_cb): the learned policy's model, the
 * tokens, the agents' secrets per port and the TLS certificate and key. A
 * reload builds the new value whole and swaps it in only once it is
 * checked, so one that fails leaves the gateway serving with what it had.
 * Split from server.c, whose structs it changes (server_internal.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "server_internal.h"

/* Reads the model file at path into empty m, and the file's SHA-256 into
 * sha (what `weft status` shows, so an operator can tell which file is
 * deciding); with mf (attn_model_init'ed, destroyed by the caller), the
 * file's entries too (coflow_learned_model_read). A file that changes
 * while it is read (a copy still being written) is refused rather than
 * half-read. m stays empty on error. */
weft_err_t rpc_gw_load_model_file(const char *path, coflow_learned_model_t *m, char sha[65],
                                  attn_model_file_t *mf)
{
    char before[65] = "";
    bool had = weft_file_sha256(path, before) == WEFT_OK;
    /* their error names what is wrong */
    weft_err_t err = mf ? coflow_learned_model_read(m, mf, path)
                        : coflow_learned_model_load(m, path);
    if (err)
        return err;
    err = weft_file_sha256(path, sha);
    if (!err && (!had || strcmp(before, sha) != 0))
        err = weft_fail(WEFT_EIO, "%s changed while it was read (still being written?); try "
                        "again once it is complete", path);
    if (err)
        coflow_learned_model_destroy(m);
    return err;
}

weft_err_t rpc_gateway_reload_model(rpc_gateway_t *gw)
{
    if (gw->sched.policy_hook != &gw->hook)
        return weft_fail(WEFT_EINVAL, "policy %s has no model to reload", gw->sched.ord->name);
    coflow_learned_model_t fresh;
    char sha[65];
    attn_model_file_t mf;
    attn_model_init(&mf);
    weft_err_t err = rpc_reread_will_not_wait("model", gw->o.model_path);
    if (!err)
        err = rpc_gw_load_model_file(gw->o.model_path, &fresh, sha, &mf);
    if (!err) {
        /* no ordering may hold the old model once it is freed */
        rpc_sched_renew_ordering(&gw->sched);
        coflow_learned_model_destroy(&gw->model);
        gw->model = fresh; /* hook.model points here: the next rebuild takes it */
        memcpy(gw->model_sha256, sha, sizeof sha);
        gw->model_reloads++;
        if (gw->o.model_read)
            gw->o.model_read(gw->o.model_read_ctx, gw->o.model_path, &mf);
    }
    attn_model_destroy(&mf);
    return err;
}

/* Refuses an agent secret of secrets[0..n_ports) that is blank or the
 * clients' (that machine could act as a client); the error begins with
 * "file: " when file is given. */
weft_err_t rpc_gw_check_port_secrets(const char *const *secrets, size_t n_ports,
                                     const char *clients, const char *file)
{
    for (size_t p = 0; p < n_ports; p++) {
        const char *ps = secrets[p];
        if (ps && (rpc_token_blank(ps) || !strcmp(ps, clients)))
            return weft_fail(WEFT_EINVAL, "%s%sthe agent secret of port %zu is %s",
                             file ? file : "", file ? ": " : "", p,
                             rpc_token_blank(ps) ? "empty or blank"
                                 : "the clients' secret: that machine could act as a client");
    }
    return WEFT_OK;
}

weft_err_t rpc_gw_check_role_secrets(const char *agent, const char *client,
                                     const char *agent_file, const char *client_file)
{
    if (!agent || !client || strcmp(agent, client))
        return WEFT_OK;
    return weft_fail(WEFT_EINVAL, "the agents' secret%s%s%s and the clients'%s%s%s are the "
                     "same: an agent could register and cancel jobs; give each role its own "
                     "(or one --token-file for both)", agent_file ? " (" : "",
                     agent_file ? agent_file : "", agent_file ? ")" : "",
                     client_file ? " (" : "", client_file ? client_file : "",
                     client_file ? ")" : "");
}

/* A copy of secrets[0..n_ports) (NULL entries kept) into *out. */
weft_err_t rpc_gw_copy_port_secrets(const char *const *secrets, size_t n_ports, char ***out)
{
    char **sec = weft_calloc(n_ports ? n_ports : 1, sizeof *sec);
    if (!sec)
        return weft_fail(WEFT_ENOMEM, "out of memory for the agents' secrets");
    for (size_t p = 0; p < n_ports; p++)
        if (secrets[p] && !(sec[p] = strdup(secrets[p]))) {
            rpc_port_secrets_free(sec, n_ports);
            return weft_fail(WEFT_ENOMEM, "out of memory for the agents' secrets");
        }
    *out = sec;
    return WEFT_OK;
}

weft_err_t rpc_gateway_reload_port_secrets(rpc_gateway_t *gw, size_t *dropped)
{
    *dropped = 0;
    if (!gw->o.port_secrets_file || !gw->port_secrets)
        return weft_fail(WEFT_EINVAL, "the gateway has no file of agent secrets to reload");
    size_t n = gw->o.n_ports;
    char **fresh = NULL;
    weft_err_t err = rpc_reread_will_not_wait("--agent-tokens file", gw->o.port_secrets_file);
    if (!err)
        err = rpc_port_secrets_read(gw->o.port_secrets_file, n, &fresh);
    if (!err)
        err = rpc_gw_check_port_secrets((const char *const *)fresh, n, gw->client_token,
                                        gw->o.port_secrets_file);
    if (err) {
        rpc_port_secrets_free(fresh, n);
        return err;
    }
    char **old = gw->port_secrets;
    gw->port_secrets = fresh;
    for (size_t p = 0; p < n; p++) {
        conn_t *c = gw->agents[p];
        if (!c || c->state != CONN_AGENT || (old[p] && fresh[p] && !strcmp(old[p], fresh[p])))
            continue;
        const rpc_error_why_t why = {.why = fresh[p] ? RPC_WHY_SECRET_ROTATED
                                                     : RPC_WHY_PORT_NO_AGENT};
        rpc_gw_conn_fail_why(c, "auth", &why, fresh[p] ? "the secret of port %zu changed: "
                             "connect with the new one" : "port %zu takes no agent any more", p);
        (*dropped)++;
    }
    rpc_port_secrets_free(old, n);
    gw->port_secrets_reloads++;
    return WEFT_OK;
}

weft_err_t rpc_gateway_reload_tokens(rpc_gateway_t *gw, unsigned *changed)
{
    *changed = 0;
    const rpc_gateway_opts_t *o = &gw->o;
    if (!o->token_file && !o->agent_token_file && !o->client_token_file)
        return weft_fail(WEFT_EINVAL, "the gateway has no token file to reload");
    /* as at start: a role's own secret over the shared one */
    const char *agent_file = o->agent_token_file ? o->agent_token_file : o->token_file;
    const char *client_file = o->client_token_file ? o->client_token_file : o->token_file;
    char agent[RPC_TOKEN_MAX], client[RPC_TOKEN_MAX];
    snprintf(agent, sizeof agent, "%s", gw->agent_token);
    snprintf(client, sizeof client, "%s", gw->client_token);
    weft_err_t err = rpc_reread_will_not_wait("token file", agent_file);
    if (!err)
        err = rpc_reread_will_not_wait("token file", client_file);
    if (!err && agent_file && !gw->port_secrets)
        err = rpc_token_read(agent_file, agent, sizeof agent);
    if (!err && client_file)
        err = rpc_token_read(client_file, client, sizeof client);
    if (!err && o->agent_token_file && o->client_token_file && !gw->port_secrets)
        err = rpc_gw_check_role_secrets(agent, client, o->agent_token_file,
                                        o->client_token_file);
    if (!err && gw->port_secrets)
        err = rpc_gw_check_port_secrets((const char *const *)gw->port_secrets, o->n_ports, client,
                                        o->port_secrets_file);
    if (err)
        return err;
    char *a = strdup(agent), *c = strdup(client);
    if (!a || !c) {
        free(a);
        free(c);
        return weft_fail(WEFT_ENOMEM, "out of memory for the gateway's secrets");
    }
    *changed = (unsigned)(strcmp(a, gw->agent_token) != 0) |
               (unsigned)(strcmp(c, gw->client_token) != 0) << 1;
    free(gw->agent_token);
    free(gw->client_token);
    gw->agent_token = a;
    gw->client_token = c;
    gw->split_roles = gw->port_secrets || strcmp(a, c) != 0;
    if (*changed) /* a rotation: a SIGHUP for a certificate or a model reads them too */
        gw->token_reloads++;
    return WEFT_OK;
}

void rpc_gw_sighup_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    rpc_gateway_t *gw = arg;
    bool token_files = gw->o.token_file || gw->o.agent_token_file || gw->o.client_token_file;
    if (token_files) {
        unsigned changed;
        if (rpc_gateway_reload_tokens(gw, &changed))
            fprintf(stderr, "weft serve: SIGHUP: tokens not reloaded: %s; still letting peers "
                    "in with the ones read before\n", weft_last_error());
        else
            fprintf(stderr, "weft serve: SIGHUP: tokens reloaded: the agents' %s, the "
                    "clients' %s; connections already in keep going\n",
                    gw->port_secrets     ? "are per port (--agent-tokens)"
                    : changed & 1        ? "changed"
                                         : "unchanged",
                    changed & 2 ? "changed" : "unchanged");
    }
    if (gw->o.port_secrets_file) {
        size_t dropped;
        if (rpc_gateway_reload_port_secrets(gw, &dropped))
            fprintf(stderr, "weft serve: SIGHUP: agent secrets not reloaded: %s; still letting "
                    "agents in with the ones read before\n", weft_last_error());
        else
            fprintf(stderr, "weft serve: SIGHUP: agent secrets reloaded from %s; %zu agent%s "
                    "dropped (its port's secret changed or went)\n", gw->o.port_secrets_file,
                    dropped, dropped == 1 ? "" : "s");
    }
    if (gw->tls) {
        if (rpc_gateway_reload_tls(gw)) {
            fprintf(stderr, "weft serve: SIGHUP: TLS certificate not reloaded: %s; still "
                    "serving the one read before\n", weft_last_error());
        } else {
            char until[40];
            fprintf(stderr, "weft serve: SIGHUP: TLS certificate %s reloaded (valid until %s); "
                    "new connections get it, those already in keep theirs\n",
                    gw->o.tls_cert, rpc_tls_date(until, sizeof until, gw->tls_not_after));
            char due[RPC_TLS_EXPIRY_LEN];
            if (rpc_tls_expiry(due, sizeof due, "TLS certificate", gw->o.tls_cert, "clients",
                               gw->tls_not_before, gw->tls_not_after,
                               (int64_t)time(NULL)) == RPC_TLS_DUE)
                fprintf(stderr, "weft serve: SIGHUP: note: %s\n", due);
        }
    }
    if (gw->sched.policy_hook != &gw->hook) {
        if (!gw->o.port_secrets_file && !token_files && !gw->tls)
            fprintf(stderr, "weft serve: SIGHUP: nothing to reload (policy %s has no model, "
                    "no token came from a file, there is no --agent-tokens and no TLS)\n",
                    gw->sched.ord->name);
        return;
    }
    if (rpc_gateway_reload_model(gw))
        fprintf(stderr, "weft serve: SIGHUP: model not reloaded: %s%s%s%s\n", weft_last_error(),
                gw->model_sha256[0] ? "; still deciding with the model loaded before (sha256 "
                                    : "",
                gw->model_sha256, gw->model_sha256[0] ? ")" : "");
    else
        fprintf(stderr, "weft serve: SIGHUP: model %s reloaded (sha256 %s); deciding with it "
                "from the next decision on\n", gw->o.model_path, gw->model_sha256);
}

/* A server TLS context from a certificate (chain) and a private key file,
 * into *out; on failure nothing is made and the error names the file and
 * OpenSSL's reason. */
static weft_err_t tls_context(const char *cert, const char *key, SSL_CTX **out)
{
    const char *files[2] = {cert, key}, *what[2] = {"certificate", "private key"};
    for (int i = 0; i < 2; i++) { /* the system's reason for a file it cannot open */
        weft_err_t err = rpc_tls_file_check(what[i], files[i]);
        if (err)
            return err;
    }
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    rpc_tls_pair_t pair;
    int failed = -1; /* which file OpenSSL refused */
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
        failed = 2;
    else if ((pair = rpc_tls_use_cert_key(ctx, cert, key)) != RPC_TLS_PAIR_OK)
        failed = pair == RPC_TLS_PAIR_BAD_CERT ? 0 : 1;
    if (failed < 0) {
        *out = ctx;
        return WEFT_OK;
    }
    char why[256];
    rpc_tls_reason(why, sizeof why, "unknown error");
    SSL_CTX_free(ctx);
    if (failed == 2)
        return weft_fail(WEFT_ENOMEM, "TLS: %s", why);
    return weft_fail(WEFT_EIO, "TLS %s %s: %s", what[failed], files[failed], why);
}

/* The server's TLS context from o.tls_cert and o.tls_key, if given. */
weft_err_t rpc_gw_tls_setup(rpc_gateway_t *gw)
{
    const char *cert = gw->o.tls_cert, *key = gw->o.tls_key;
    if (!cert && !key)
        return WEFT_OK;
    if (!cert || !key)
        return weft_fail(WEFT_EINVAL, "TLS needs both a certificate and a private key");
    weft_err_t err = tls_context(cert, key, &gw->tls);
    if (!err) {
        gw->tls_not_before = rpc_tls_not_before(gw->tls);
        gw->tls_not_after = rpc_tls_not_after(gw->tls);
    }
    return err;
}

weft_err_t rpc_gateway_reload_tls(rpc_gateway_t *gw)
{
    if (!gw->tls)
        return weft_fail(WEFT_EINVAL, "the gateway serves no TLS (--tls-cert, --tls-key)");
    SSL_CTX *fresh;
    weft_err_t err = tls_context(gw->o.tls_cert, gw->o.tls_key, &fresh);
    if (err)
        return err;
    /* one expired or not valid yet would only fail every new connection: keep the one in
       use */
    char why[RPC_TLS_EXPIRY_LEN];
    rpc_tls_expiry_t ex = rpc_tls_expiry(why, sizeof why, "TLS certificate", gw->o.tls_cert,
                                         "clients", rpc_tls_not_before(fresh),
                                         rpc_tls_not_after(fresh), (int64_t)time(NULL));
    if (ex == RPC_TLS_EXPIRED || ex == RPC_TLS_NOT_YET) {
        SSL_CTX_free(fresh);
        return weft_fail(WEFT_EINVAL, "%s", why);
    }
    SSL_CTX_free(gw->tls); /* each connection's SSL keeps a reference to its own */
    gw->tls = fresh;
    gw->tls_not_before = rpc_tls_not_before(fresh);
    gw->tls_not_after = rpc_tls_not_after(fresh);
    gw->tls_reloads++;
    return WEFT_OK;
}
