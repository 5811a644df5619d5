/**
 * Leader election (planned): Go-compatible Election (campaign, proclaim, resign, leader, observe), and Curator-style LeaderLatch and LeaderSelector, all on a Session.
 */
package io.etcdrecipes.election;
