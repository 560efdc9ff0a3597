/* maillog_cgi.c — placeholder main of maillog.cgi until the API issue lands. */
#include <stdio.h>

int main(void)
{
    fputs("Status: 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
          "{\"error\":{\"code\":\"unavailable\",\"message\":\"not built yet\"}}\n",
          stdout);
    return 0;
}
