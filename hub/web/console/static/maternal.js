/* The maternal page: its cards are cube charts (dashboard.js); their declarations are in hub/web/console/maternal.py. */
"use strict";
window.HIE.dashboard.start();
