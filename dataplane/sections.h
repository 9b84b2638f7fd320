/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon's config sections: the one table that says which subsystems
 * compile which part of the document (config.h, "Config sections"). It lives
 * outside dataplane/config so that config depends on no subsystem; main() and
 * the test fixtures hand it to config once at start.
 */
#ifndef MESHDP_SECTIONS_H
#define MESHDP_SECTIONS_H

/** cfg_sections_set() with the daemon's table. Control thread, once, before any cfg_compile(). */
void meshdp_sections_register(void);

#endif
