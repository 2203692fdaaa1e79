package uk.nhs.hee.tis.examples.reference;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A TIS-like Reference service: sites and grades that other services read to put names on their
 * ids. A Keycloak resource server like the rest; its bulk export is for service accounts only.
 */
@SpringBootApplication
public class ReferenceApplication {

	public static void main(String[] args) {
		SpringApplication.run(ReferenceApplication.class, args);
	}

}
