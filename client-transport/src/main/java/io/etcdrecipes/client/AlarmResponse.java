package io.etcdrecipes.client;

import java.util.List;

/** The alarms raised (for a list) or the alarms just cleared (for a disarm). */
public record AlarmResponse(ResponseHeader header, List<Alarm> alarms) {

  public AlarmResponse {
    alarms = List.copyOf(alarms);
  }
}
