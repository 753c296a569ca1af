/* placeholder, replaced by the CLI module */
#include <stdio.h>
int main(void)
{
    puts("tessera");
    return 0;
}
