/* The diseases page: its cards are cube charts (dashboard.js); their declarations are in hub/web/console/diseases.py. */
"use strict";
window.HIE.dashboard.start();
