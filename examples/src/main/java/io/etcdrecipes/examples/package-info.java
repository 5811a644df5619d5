/**
 * The demo and command-line examples.
 */
package io.etcdrecipes.examples;
