// libxlsxwriter (Debian: libxlsxwriter-dev) writes the dashboard's .xlsx exports.
#include <xlsxwriter.h>
