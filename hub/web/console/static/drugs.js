/* The drugs page: its cards are cube charts (dashboard.js); their declarations are in hub/web/console/drugs.py. */
"use strict";
window.HIE.dashboard.start();
