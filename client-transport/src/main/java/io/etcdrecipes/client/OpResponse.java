package io.etcdrecipes.client;

/** The result of one operation of a transaction: a {@link GetResponse}, {@link PutResponse}, {@link DeleteResponse} or {@link TxnResponse}. */
public sealed interface OpResponse permits GetResponse, PutResponse, DeleteResponse, TxnResponse {
  ResponseHeader header();
}
