package uk.nhs.hee.tis.examples.tcs;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.web.service.registry.ImportHttpServices;

/**
 * A TIS-like service: every {@code /api/**} request first loads the caller's permissions from
 * Profile's userinfo, as tcs does; {@code /api/status} touches no downstream. Nothing in the code
 * mentions the starter: it is one dependency and a few lines of application.yml.
 */
@SpringBootApplication
@ImportHttpServices(group = "profile", types = ProfileClient.class)
public class TcsApplication {

	public static void main(String[] args) {
		SpringApplication.run(TcsApplication.class, args);
	}

}
