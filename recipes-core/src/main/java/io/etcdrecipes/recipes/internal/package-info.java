/** Implementation details of recipes-core; not public API. */
package io.etcdrecipes.recipes.internal;
