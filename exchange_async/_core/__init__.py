"""The exchange-neutral request pipeline. Exchange packages use it; it never imports them."""
