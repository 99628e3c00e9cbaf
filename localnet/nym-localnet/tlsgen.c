/* Throwaway CA and gateway certificate for the localnet (tlsgen.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tlsgen.h"

#define TLS_PATH 1024
#define TLS_DAYS "30"

/* Runs argv (the openssl command) with umask 077, its output appended to log. 0 or -1. */
static int run(char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		umask(077);
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

int ln_tls_generate(const char *dir, const char *cert_name, char *err, size_t errcap)
{
	char tls[TLS_PATH], log[TLS_PATH], ca_key[TLS_PATH], ca[TLS_PATH], key[TLS_PATH],
	     csr[TLS_PATH], crt[TLS_PATH], ext[TLS_PATH], san[512], subj[320];
	snprintf(tls, sizeof tls, "%s/tls", dir);
	snprintf(log, sizeof log, "%s/logs/tls-gen.log", dir);
	snprintf(ca_key, sizeof ca_key, "%s/tls/ca.key", dir);
	snprintf(ca, sizeof ca, "%s/tls/ca.pem", dir);
	snprintf(key, sizeof key, "%s/tls/gateway.key", dir);
	snprintf(csr, sizeof csr, "%s/tls/gateway.csr", dir);
	snprintf(crt, sizeof crt, "%s/tls/gateway.pem", dir);
	snprintf(ext, sizeof ext, "%s/tls/gateway.ext", dir);
	if (strlen(dir) > TLS_PATH - 32) {
		snprintf(err, errcap, "path too long: %s", dir);
		return -1;
	}
	if (mkdir(tls, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errcap, "cannot create %s: %s", tls, strerror(errno));
		return -1;
	}
	snprintf(subj, sizeof subj, "/CN=%s", cert_name);
	snprintf(san, sizeof san, "subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\n"
	                          "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
	         cert_name);
	char *const make_ca[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out", ca,
		                  "-days", TLS_DAYS, "-subj", "/CN=nymsuite localnet throwaway CA",
		                  "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
		                  "keyUsage=critical,keyCertSign,cRLSign", NULL };
	char *const make_csr[] = { "openssl", "req", "-newkey", "ec", "-pkeyopt",
		                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
		                   "-subj", subj, NULL };
	char *const sign[] = { "openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
		               "-CAcreateserial", "-out", crt, "-days", TLS_DAYS, "-extfile", ext,
		               NULL };
	if (write_text(ext, san) < 0 || run(make_ca, log) < 0 || run(make_csr, log) < 0 ||
	    run(sign, log) < 0) {
		snprintf(err, errcap, "cannot make the TLS certificates in %s (openssl; see %s)", tls, log);
		return -1;
	}
	chmod(ca_key, 0600);
	chmod(key, 0600);
	chmod(ca, 0644);
	chmod(crt, 0644);
	unlink(csr);
	return 0;
}
