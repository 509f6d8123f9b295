/* src/cli/control-path.h — where status and signal find the daemon's control socket */
#pragma once

/*
 * --control PATH if given; else daemon.control of the config (-c FILE, or
 * the default config when it can be read); else the default socket.
 * Returns an allocated path, or NULL after printing why (a -c FILE that does
 * not load).
 */
char *zf_cli_control_path(const char *cmd, const char *control, const char *config);
