/*
 * badsyms.c: a deliberately badly named shared library, so the meta suite
 * can prove that scripts/check-symbols.sh rejects exported symbols without
 * the tsr_ prefix (test check_symbols_catches_leaks, expected to fail).
 */
int tsr_fine(void);
int leaked_helper(void);

int tsr_fine(void)
{
    return 0;
}

int leaked_helper(void)
{
    return 1;
}
