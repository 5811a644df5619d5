/**
 * Sessions, STM transactions and the mechanics every recipe shares (planned: see the recipes-core issue).
 */
package io.etcdrecipes.recipes;
