/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * LD_PRELOAD shim: a resolver that is slow for one client. getnameinfo()
 * asked for the name (not the number) of the address in SLOWDNS_ADDR
 * sleeps SLOWDNS_MS milliseconds first, as a reverse look-up against an
 * unanswering DNS server would; every other call goes straight through.
 * daemon_server.bats uses it to show that one slow look-up does not hold
 * up the other clients' handshakes. Built there:
 *   cc -shared -fPIC -o slowdns.so slowdns.c -ldl
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef int (*gni_fn)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t,
		      int);

int
getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
	    socklen_t servlen, int flags)
{
	static gni_fn real;
	const char *want = getenv("SLOWDNS_ADDR"), *ms = getenv("SLOWDNS_MS");
	char a[INET6_ADDRSTRLEN] = "";

	if (!real)
		real = (gni_fn)dlsym(RTLD_NEXT, "getnameinfo");
	if (want && ms && !(flags & NI_NUMERICHOST) && sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
		if (!strcmp(a, want)) {
			long n = atol(ms);
			struct timespec ts = {n / 1000, (n % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
	return real(sa, salen, host, hostlen, serv, servlen, flags);
}
