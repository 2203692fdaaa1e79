package uk.nhs.hee.tis.examples.tcs;

import org.springframework.web.service.annotation.GetExchange;

/** Profile's API as tcs uses it: an HTTP interface in Boot's "profile" HTTP service group. */
public interface ProfileClient {

	@GetExchange("/api/userinfo")
	String userinfo();

}
