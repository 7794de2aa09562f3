/* The referrals page: its cards are cube charts (dashboard.js); their declarations are in hub/web/console/referrals.py. */
"use strict";
window.HIE.dashboard.start();
