/* Well-known ACME CAs by short name. */
#ifndef ACMED_CA_H
#define ACMED_CA_H

/* The directory URL for a short name ("letsencrypt", ...) or, when name is
 * already an https URL, name itself. Borrowed; NULL when neither. */
const char *ca_directory_url(const char *name);

/* For messages: the short names, comma separated. */
const char *ca_short_names(void);

#endif
