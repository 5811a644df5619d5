package io.etcdrecipes.client;

/**
 * A token for a user. The client authenticates by itself when given credentials; this is for callers
 * that need a token of their own (to hand to a proxy, say). Its {@code toString} hides the token.
 */
public record AuthenticateResponse(ResponseHeader header, String token) {

  @Override
  public String toString() {
    return "AuthenticateResponse{header=" + header + ", token=****}";
  }
}
