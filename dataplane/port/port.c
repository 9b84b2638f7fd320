/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "../log/log.h"
#include "port.h"

/* Symmetric Toeplitz key: the 16-bit pattern 0x6d5a repeated makes the hash of
 * (src, dst) equal to that of (dst, src), so both directions of a flow land on
 * the same queue (Woo and Park, "Scalable TCP Session Monitoring with RSS"). */
static void port_symmetric_key(uint8_t *key, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
}

/* Fill @p err and return @p rc (a negative errno). */
static int __rte_format_printf(4, 5)
	port_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Refuse members of @p obj that are not in the NULL-terminated @p known list. */
static int port_check_keys(json_t *obj, const char *path, const char *const *known, char *err,
			   size_t errlen)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val)
	{
		unsigned int i;

		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return port_fail(-EINVAL, err, errlen, "%s.%s: unknown field", path, key);
	}
	return 0;
}

static int port_get_string(json_t *obj, const char *path, const char *key, char *dst, size_t size,
			   bool required, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return required ? port_fail(-EINVAL, err, errlen,
					    "%s.%s: missing (expected a string)", path, key)
				: 0;
	if (!json_is_string(v))
		return port_fail(-EINVAL, err, errlen, "%s.%s: expected a string", path, key);
	if (json_string_length(v) == 0 || json_string_length(v) >= size)
		return port_fail(-EINVAL, err, errlen, "%s.%s: expected 1..%zu characters, got %zu",
				 path, key, size - 1, json_string_length(v));
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int port_get_uint(json_t *obj, const char *path, const char *key, unsigned int *dst,
			 unsigned int min, unsigned int max, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return port_fail(-EINVAL, err, errlen, "%s.%s: expected an integer %u..%u", path,
				 key, min, max);
	*dst = (unsigned int)json_integer_value(v);
	return 0;
}

static int port_get_bool(json_t *obj, const char *path, const char *key, bool *dst, char *err,
			 size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return port_fail(-EINVAL, err, errlen, "%s.%s: expected true or false", path, key);
	*dst = json_is_true(v);
	return 0;
}

static bool port_is_pci_address(const char *s)
{
	unsigned int dom, bus, dev, fn;
	char tail;

	return sscanf(s, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) == 4 ||
	       sscanf(s, "%x:%x.%x%c", &bus, &dev, &fn, &tail) == 3;
}

/* Whether comma-separated driver arguments @p devargs hold @p kv ("role=client"). */
static bool port_devargs_has(const char *devargs, const char *kv)
{
	size_t n = strlen(kv);

	for (const char *a = devargs; a != NULL && *a != '\0'; a = strchr(a, ',')) {
		if (*a == ',')
			a++;
		if (strncmp(a, kv, n) == 0 && (a[n] == ',' || a[n] == '\0'))
			return true;
	}
	return false;
}

bool port_memif_zero_copy(const struct port_spec *s)
{
	return strncmp(s->device, "net_memif", 9) == 0 &&
	       port_devargs_has(s->devargs, "zero-copy=yes");
}

static int port_parse_spec(json_t *j, unsigned int idx, struct port_spec *s, char *err,
			   size_t errlen)
{
	static const char *const known[] = {"name", "device", "devargs",     "rx_desc", "tx_desc",
					    "mtu",  "rss",    "rx_checksum", NULL};
	char path[48];
	unsigned int rx = 1024, tx = 1024, mtu = 0;
	int rc;

	snprintf(path, sizeof(path), "$.ports[%u]", idx);
	if (!json_is_object(j))
		return port_fail(-EINVAL, err, errlen, "%s: expected an object", path);
	s->rss = true;
	s->rx_checksum = true;
	if ((rc = port_check_keys(j, path, known, err, errlen)) != 0 ||
	    (rc = port_get_string(j, path, "name", s->name, sizeof(s->name), true, err, errlen)) ||
	    (rc = port_get_string(j, path, "device", s->device, sizeof(s->device), true, err,
				  errlen)) ||
	    (rc = port_get_string(j, path, "devargs", s->devargs, sizeof(s->devargs), false, err,
				  errlen)) ||
	    (rc = port_get_uint(j, path, "rx_desc", &rx, 64, 16384, err, errlen)) ||
	    (rc = port_get_uint(j, path, "tx_desc", &tx, 64, 16384, err, errlen)) ||
	    (rc = port_get_uint(j, path, "mtu", &mtu, 68, 9600, err, errlen)) ||
	    (rc = port_get_bool(j, path, "rss", &s->rss, err, errlen)) ||
	    (rc = port_get_bool(j, path, "rx_checksum", &s->rx_checksum, err, errlen)))
		return rc;
	s->rx_desc = (uint16_t)rx;
	s->tx_desc = (uint16_t)tx;
	s->mtu = (uint16_t)mtu;
	s->pci = port_is_pci_address(s->device);
	if (!s->pci && strncmp(s->device, "net_", 4) != 0)
		return port_fail(-EINVAL, err, errlen,
				 "%s.device: expected a PCI address (0000:01:00.0) or a vdev name "
				 "(net_tap0), got \"%s\"",
				 path, s->device);
	if (port_memif_zero_copy(s) && !port_devargs_has(s->devargs, "role=client"))
		return port_fail(-EINVAL, err, errlen,
				 "%s.devargs: memif zero-copy=yes needs role=client (the client's "
				 "mbufs are the shared memory; a server always copies)",
				 path);
	return 0;
}

static int port_parse_eal(json_t *j, struct port_profile *p, char *err, size_t errlen)
{
	static const char *const known[] = {"lcores", "main_lcore", "file_prefix", "args", NULL};
	json_t *args;
	size_t i;
	json_t *a;
	int rc;

	if (!json_is_object(j))
		return port_fail(-EINVAL, err, errlen, "$.eal: expected an object");
	if ((rc = port_check_keys(j, "$.eal", known, err, errlen)) != 0 ||
	    (rc = port_get_string(j, "$.eal", "lcores", p->lcores, sizeof(p->lcores), false, err,
				  errlen)) ||
	    (rc = port_get_uint(j, "$.eal", "main_lcore", &p->main_lcore, 0, RTE_MAX_LCORE - 1, err,
				errlen)) ||
	    (rc = port_get_string(j, "$.eal", "file_prefix", p->file_prefix, sizeof(p->file_prefix),
				  false, err, errlen)))
		return rc;
	args = json_object_get(j, "args");
	if (args == NULL)
		return 0;
	if (!json_is_array(args) || json_array_size(args) > RTE_DIM(p->eal_args))
		return port_fail(-EINVAL, err, errlen,
				 "$.eal.args: expected an array of at most %zu strings",
				 RTE_DIM(p->eal_args));
	json_array_foreach(args, i, a)
	{
		if (!json_is_string(a) || json_string_length(a) == 0 ||
		    json_string_length(a) >= sizeof(p->eal_args[0]))
			return port_fail(-EINVAL, err, errlen,
					 "$.eal.args[%zu]: expected a string of 1..%zu "
					 "characters",
					 i, sizeof(p->eal_args[0]) - 1);
		strcpy(p->eal_args[p->n_eal_args++], json_string_value(a));
	}
	return 0;
}

static int port_parse_memory(json_t *j, struct port_profile *p, char *err, size_t errlen)
{
	static const char *const known[] = {"hugepages", "no_huge_mb", "mbufs", "mbuf_cache", NULL};
	json_t *h;
	int rc;

	if (!json_is_object(j))
		return port_fail(-EINVAL, err, errlen, "$.memory: expected an object");
	if ((rc = port_check_keys(j, "$.memory", known, err, errlen)) != 0 ||
	    (rc = port_get_uint(j, "$.memory", "no_huge_mb", &p->no_huge_mb, 64, 65536, err,
				errlen)) ||
	    (rc = port_get_uint(j, "$.memory", "mbufs", &p->mbufs, 1024, 16u << 20, err, errlen)) ||
	    (rc = port_get_uint(j, "$.memory", "mbuf_cache", &p->mbuf_cache, 0,
				RTE_MEMPOOL_CACHE_MAX_SIZE, err, errlen)))
		return rc;
	h = json_object_get(j, "hugepages");
	if (h == NULL)
		return 0;
	if (json_is_string(h) && strcmp(json_string_value(h), "auto") == 0)
		p->hugepages = PORT_HUGEPAGES_AUTO;
	else if (json_is_true(h))
		p->hugepages = PORT_HUGEPAGES_ON;
	else if (json_is_false(h))
		p->hugepages = PORT_HUGEPAGES_OFF;
	else
		return port_fail(-EINVAL, err, errlen,
				 "$.memory.hugepages: expected \"auto\", true or false");
	return 0;
}

int port_profile_parse(const char *text, size_t len, struct port_profile *p, char *err,
		       size_t errlen)
{
	static const char *const known[] = {"profile", "description", "eal",
					    "memory",  "ports",	      NULL};
	json_error_t jerr;
	json_t *root, *ports, *v;
	size_t i;
	int rc;

	memset(p, 0, sizeof(*p));
	strcpy(p->lcores, "0,1");
	strcpy(p->file_prefix, "meshdp");
	p->hugepages = PORT_HUGEPAGES_AUTO;
	p->no_huge_mb = 512;
	p->mbufs = 16384;
	p->mbuf_cache = 256;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return port_fail(-EINVAL, err, errlen, "line %d, column %d: %s", jerr.line,
				 jerr.column, jerr.text);
	rc = -EINVAL;
	if (!json_is_object(root)) {
		port_fail(-EINVAL, err, errlen, "$: expected an object");
		goto out;
	}
	if ((rc = port_check_keys(root, "$", known, err, errlen)) != 0 ||
	    (rc = port_get_string(root, "$", "profile", p->name, sizeof(p->name), true, err,
				  errlen)))
		goto out;
	v = json_object_get(root, "description");
	if (v != NULL && !json_is_string(v)) {
		rc = port_fail(-EINVAL, err, errlen, "$.description: expected a string");
		goto out;
	}
	if ((v = json_object_get(root, "eal")) != NULL &&
	    (rc = port_parse_eal(v, p, err, errlen)) != 0)
		goto out;
	if ((v = json_object_get(root, "memory")) != NULL &&
	    (rc = port_parse_memory(v, p, err, errlen)) != 0)
		goto out;
	ports = json_object_get(root, "ports");
	if (!json_is_array(ports) || json_array_size(ports) == 0 ||
	    json_array_size(ports) > CFG_MAX_PORTS) {
		rc = port_fail(-EINVAL, err, errlen, "$.ports: expected an array of 1..%d ports",
			       CFG_MAX_PORTS);
		goto out;
	}
	json_array_foreach(ports, i, v)
	{
		if ((rc = port_parse_spec(v, (unsigned int)i, &p->ports[i], err, errlen)) != 0)
			goto out;
		for (size_t k = 0; k < i; k++) {
			if (strcmp(p->ports[k].name, p->ports[i].name) == 0 ||
			    strcmp(p->ports[k].device, p->ports[i].device) == 0) {
				rc = port_fail(-EINVAL, err, errlen,
					       "$.ports[%zu]: name or device repeats $.ports[%zu]",
					       i, k);
				goto out;
			}
		}
		p->n_ports++;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* EAL can use hugepages only through a mounted hugetlbfs. */
static bool port_hugetlbfs_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, " hugetlbfs ") != NULL;
	fclose(f);
	return found;
}

unsigned long port_free_hugepages(void)
{
	const char *dir = "/sys/kernel/mm/hugepages";
	unsigned long total = 0;
	struct dirent *e;
	DIR *d;

	if (!port_hugetlbfs_mounted())
		return 0;
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[512];
		unsigned long n;
		FILE *f;

		if (strncmp(e->d_name, "hugepages-", 10) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir, e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fscanf(f, "%lu", &n) == 1)
			total += n;
		fclose(f);
	}
	closedir(d);
	return total;
}

static int __rte_format_printf(4, 5)
	port_argv_add(struct port_eal_argv *out, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (out->argc >= PORT_ARGS_MAX)
		return port_fail(-E2BIG, err, errlen, "more than %d EAL arguments", PORT_ARGS_MAX);
	va_start(ap, fmt);
	n = vsnprintf(out->store[out->argc], sizeof(out->store[0]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(out->store[0]))
		return port_fail(-E2BIG, err, errlen, "EAL argument too long");
	out->argv[out->argc] = out->store[out->argc];
	out->argc++;
	out->argv[out->argc] = NULL;
	return 0;
}

int port_eal_argv(const struct port_profile *p, const char *prog, bool no_huge, char **extra,
		  int n_extra, struct port_eal_argv *out, char *err, size_t errlen)
{
	bool any_pci = false, zero_copy = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (p->hugepages == PORT_HUGEPAGES_OFF ||
	    (p->hugepages == PORT_HUGEPAGES_AUTO && port_free_hugepages() == 0))
		no_huge = true;
	/* "0-2" is a core list (-l); "0@0,(1,2)@1" maps lcores to CPUs (--lcores),
	 * e.g. to run more workers than the machine has cores in a test */
	if ((rc = port_argv_add(out, err, errlen, "%s", prog)) ||
	    (rc = port_argv_add(out, err, errlen, "%s",
				strpbrk(p->lcores, "@(") ? "--lcores" : "-l")) ||
	    (rc = port_argv_add(out, err, errlen, "%s", p->lcores)) ||
	    (rc = port_argv_add(out, err, errlen, "--main-lcore=%u", p->main_lcore)) ||
	    (rc = port_argv_add(out, err, errlen, "--file-prefix=%s", p->file_prefix)))
		return rc;
	if (no_huge && ((rc = port_argv_add(out, err, errlen, "--no-huge")) ||
			(rc = port_argv_add(out, err, errlen, "-m")) ||
			(rc = port_argv_add(out, err, errlen, "%u", p->no_huge_mb)) ||
			(rc = port_argv_add(out, err, errlen, "--no-shconf"))))
		return rc;
	for (unsigned int i = 0; i < p->n_ports; i++)
		zero_copy |= port_memif_zero_copy(&p->ports[i]);
	/* A zero-copy memif client shares its memory segments with the server, which
	 * the PMD wants as one file per segment list; once connected it closes that
	 * file, so EAL could not grow its memory later: reserve no_huge_mb at start
	 * on hugepages too (without them -m already does). */
	if (zero_copy &&
	    ((rc = port_argv_add(out, err, errlen, "--single-file-segments")) ||
	     (!no_huge && ((rc = port_argv_add(out, err, errlen, "-m")) ||
			   (rc = port_argv_add(out, err, errlen, "%u", p->no_huge_mb))))))
		return rc;
	for (unsigned int i = 0; i < p->n_ports; i++) {
		const struct port_spec *s = &p->ports[i];

		any_pci |= s->pci;
		rc = port_argv_add(out, err, errlen, "%s%s%s%s",
				   s->pci ? "-a" : "--vdev=", s->device, s->devargs[0] ? "," : "",
				   s->devargs);
		if (rc)
			return rc;
	}
	if (!any_pci && (rc = port_argv_add(out, err, errlen, "--no-pci")))
		return rc;
	for (unsigned int i = 0; i < p->n_eal_args; i++)
		if ((rc = port_argv_add(out, err, errlen, "%s", p->eal_args[i])))
			return rc;
	for (int i = 0; i < n_extra; i++)
		if ((rc = port_argv_add(out, err, errlen, "%s", extra[i])))
			return rc;
	return 0;
}

struct rte_mempool *port_pool_create(const struct port_profile *p, uint16_t n_queues)
{
	unsigned int need = 0;

	/* Every descriptor may hold an mbuf, each worker's cache may hold some, and
	 * each worker may queue up to NET_OUT_MAX-sized bursts per port in software. */
	for (unsigned int i = 0; i < p->n_ports; i++)
		need += (unsigned int)n_queues * (p->ports[i].rx_desc + p->ports[i].tx_desc + 512);
	need += (unsigned int)n_queues * p->mbuf_cache * 2;
	return rte_pktmbuf_pool_create("meshdp_mbufs", RTE_MAX(need, p->mbufs), p->mbuf_cache, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
}

static int port_start_one(const struct port_spec *s, uint16_t n_queues, struct rte_mempool *pool,
			  struct cfg_port_info *info, char *err, size_t errlen)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info dev;
	uint8_t rss_key[128];
	uint16_t port_id, nrx, ntx;
	int rc;

	rc = rte_eth_dev_get_port_by_name(s->device, &port_id);
	if (rc != 0)
		return port_fail(rc, err, errlen, "port %s: device %s not found (%s)", s->name,
				 s->device, rte_strerror(-rc));
	rc = rte_eth_dev_info_get(port_id, &dev);
	if (rc != 0)
		return port_fail(rc, err, errlen, "port %s: dev_info: %s", s->name,
				 rte_strerror(-rc));
	if (n_queues > dev.max_rx_queues || n_queues > dev.max_tx_queues)
		return port_fail(-EINVAL, err, errlen,
				 "port %s: %u workers but the device has %u RX / %u "
				 "TX queues",
				 s->name, n_queues, dev.max_rx_queues, dev.max_tx_queues);

	if (s->rss && n_queues > 1 && dev.flow_type_rss_offloads != 0) {
		unsigned int key_len = dev.hash_key_size ? dev.hash_key_size : 40;

		port_symmetric_key(rss_key, RTE_MIN(key_len, sizeof(rss_key)));
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = (uint8_t)RTE_MIN(key_len, sizeof(rss_key));
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			dev.flow_type_rss_offloads;
	} else if (n_queues > 1) {
		LOG(WARNING,
		    "port %s: no RSS (%s); the device spreads flows over the %u queues itself",
		    s->name, s->rss ? "not supported" : "off in profile", n_queues);
	}
	if (s->rx_checksum && (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM))
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

	rc = rte_eth_dev_configure(port_id, n_queues, n_queues, &conf);
	if (rc != 0)
		return port_fail(rc, err, errlen, "port %s: configure: %s", s->name,
				 rte_strerror(-rc));
	nrx = s->rx_desc;
	ntx = s->tx_desc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nrx, &ntx);
	if (rc != 0)
		return port_fail(rc, err, errlen, "port %s: descriptors: %s", s->name,
				 rte_strerror(-rc));
	for (uint16_t q = 0; q < n_queues; q++) {
		struct rte_eth_rxconf rxq = dev.default_rxconf;
		struct rte_eth_txconf txq = dev.default_txconf;

		rxq.offloads = conf.rxmode.offloads;
		txq.offloads = conf.txmode.offloads;
		rc = rte_eth_rx_queue_setup(port_id, q, nrx, rte_eth_dev_socket_id(port_id), &rxq,
					    pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port_id, q, ntx, rte_eth_dev_socket_id(port_id),
						    &txq);
		if (rc != 0)
			return port_fail(rc, err, errlen, "port %s: queue %u: %s", s->name, q,
					 rte_strerror(-rc));
	}
	if (s->mtu != 0) {
		rc = rte_eth_dev_set_mtu(port_id, s->mtu);
		if (rc == -ENOTSUP)
			LOG(NOTICE, "port %s: the driver cannot change the MTU; keeping its own",
			    s->name);
		else if (rc != 0)
			return port_fail(rc, err, errlen, "port %s: mtu %u: %s", s->name, s->mtu,
					 rte_strerror(-rc));
	}
	rc = rte_eth_dev_start(port_id);
	if (rc != 0)
		return port_fail(rc, err, errlen, "port %s: start: %s", s->name, rte_strerror(-rc));
	/* Multicast is needed for IPv6 neighbour discovery (solicited-node groups). */
	rc = rte_eth_allmulticast_enable(port_id);
	if (rc != 0 && rc != -ENOTSUP)
		LOG(WARNING, "port %s: cannot receive all multicast: %s", s->name,
		    rte_strerror(-rc));

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", s->name);
	info->port_id = port_id;
	rte_eth_macaddr_get(port_id, &info->mac);
	if (rte_eth_dev_get_mtu(port_id, &info->mtu) != 0 || info->mtu == 0)
		info->mtu = RTE_ETHER_MTU;
	LOG(INFO, "port %s: %s started, %u queue pair(s), %u/%u descriptors, RSS %s, mtu %u",
	    s->name, s->device, n_queues, nrx, ntx,
	    conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? "symmetric" : "off", info->mtu);
	return 0;
}

int port_start_all(const struct port_profile *p, uint16_t n_queues, struct rte_mempool *pool,
		   struct cfg_port_info *info, char *err, size_t errlen)
{
	for (uint16_t i = 0; i < p->n_ports; i++) {
		int rc = port_start_one(&p->ports[i], n_queues, pool, &info[i], err, errlen);

		if (rc != 0) {
			port_stop_all(info, i);
			return rc;
		}
	}
	return 0;
}

void port_stop_all(const struct cfg_port_info *info, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		int rc = rte_eth_dev_stop(info[i].port_id);

		if (rc != 0)
			LOG(WARNING, "port %s: stop: %s", info[i].name, rte_strerror(-rc));
		rte_eth_dev_close(info[i].port_id);
	}
}
