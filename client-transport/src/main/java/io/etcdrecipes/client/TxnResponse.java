package io.etcdrecipes.client;

import java.util.List;

/**
 * The result of a transaction: whether the compares held (and so which branch ran) and one response per
 * operation of that branch, in order. Nested transactions answer with a {@code TxnResponse} whose header
 * is the enclosing one's.
 */
public record TxnResponse(ResponseHeader header, boolean succeeded, List<OpResponse> responses)
    implements OpResponse {

  /** The response of the operation at {@code index}, cast to what the caller knows it is. */
  public <T extends OpResponse> T response(int index, Class<T> type) {
    return type.cast(responses.get(index));
  }

  public GetResponse getResponse(int index) {
    return response(index, GetResponse.class);
  }

  public PutResponse putResponse(int index) {
    return response(index, PutResponse.class);
  }

  public DeleteResponse deleteResponse(int index) {
    return response(index, DeleteResponse.class);
  }

  public TxnResponse txnResponse(int index) {
    return response(index, TxnResponse.class);
  }
}
