/**
 * Sessions, STM transactions and the mechanics every recipe shares.
 *
 * <ul>
 *   <li>{@link io.etcdrecipes.recipes.Session}: an etcd lease kept alive, with Curator's connection states
 *       ({@link io.etcdrecipes.recipes.SessionState}) and a policy for recipes
 *       ({@link io.etcdrecipes.recipes.SessionPolicy}).</li>
 *   <li>{@link io.etcdrecipes.recipes.Stm}: run a function as a transaction at one of Go's four
 *       {@link io.etcdrecipes.recipes.Isolation} levels.</li>
 *   <li>Mechanics: {@link io.etcdrecipes.recipes.Keys} (Go-compatible owner keys and the create-or-get
 *       transaction), {@link io.etcdrecipes.recipes.UniqueKey}, {@link io.etcdrecipes.recipes.SequentialKey},
 *       {@link io.etcdrecipes.recipes.WaitForDelete}, {@link io.etcdrecipes.recipes.WaitForEvents},
 *       {@link io.etcdrecipes.recipes.Guard} and the {@link io.etcdrecipes.recipes.Recipe} lifecycle.</li>
 * </ul>
 *
 * <p>Blocking convention, everywhere: a wait with a timeout throws {@link java.util.concurrent.TimeoutException},
 * a wait without one is interruptible; etcd failures are unchecked {@link io.etcdrecipes.client.EtcdException}s.
 * See docs/recipes-core.md.
 */
package io.etcdrecipes.recipes;
